//! Magento's REST API as ponte speaks it: the client (transport,
//! retries, sign-in) and its errors. What is sent is `push`'s.

pub(crate) mod client;
pub(crate) mod error;
pub(crate) mod signin;
pub(crate) mod time;
