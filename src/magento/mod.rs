//! Magento's REST API as ponte speaks it: the client (transport,
//! retries, sign-in) and its errors. What is sent is `push`'s.

pub mod client;
pub mod error;
pub mod signin;
pub mod time;
