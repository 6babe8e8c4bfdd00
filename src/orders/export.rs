//! Writing an ORDINI file so that each order reaches the outbound folder
//! once and only once, whatever crashes in between. The ERP imports a file
//! as soon as it sees it, and may move it away at once, so the folder alone
//! cannot say what was delivered: the state store says it, and the store
//! and the folder are kept in step by this protocol.
//!
//! ## The protocol (one file, one target)
//!
//! 1. **Name.** `ORDyyyymmddhhmmss.txt` (UTC), the stamp being now or one
//!    second after the last stamp handed out, whichever is later, and moved
//!    on a second while the name exists in the folder (final or temporary)
//!    or is known to the store. Names are therefore unique and increasing
//!    even within one second, across targets and restarts, and still match
//!    `ORD*.txt`. The file is rendered in memory (header stamp = name
//!    stamp); an order whose values the layout cannot hold is left out and
//!    reported, never written half.
//! 2. **Intent.** One transaction records the intent: the file name, the
//!    shop (the target's `base_url`), the orders (Magento `entity_id`,
//!    increment id, `updated_at`) and the watermark it will set. Nothing
//!    touches the folder before this commits.
//! 3. **Temporary file.** `.ORD....txt.tmp` in the outbound folder (a dot
//!    file with a `.tmp` suffix: the ERP's import ignores it), written,
//!    fsynced.
//! 4. **Written.** The intent records the temporary file's size and xxh3.
//! 5. **Rename** into `ORD....txt` (atomic in one folder), then fsync the
//!    folder so that the rename survives a power cut.
//! 6. **Record.** One transaction writes the orders' export rows, moves the
//!    target's watermark (forward only) and deletes the intent.
//! 7. **Follow-ups** (comment, status) are sent afterwards, from export rows
//!    marked pending; a failure there is logged and retried on later polls,
//!    and never undoes the export.
//!
//! The store's commits in steps 2, 4 and 6 run with `synchronous = FULL`.
//!
//! ## Recovery (at the start of every poll of the target)
//!
//! For each intent left behind, oldest first:
//!
//! - **Not marked written** (a crash in steps 2-4): the rename cannot have
//!   happened, since it only follows step 4. If the final file nevertheless
//!   exists (a power cut that lost the step-4 commit but not the rename), it
//!   is ours: record it. Otherwise delete the temporary file if any and
//!   forget the intent; its orders are fetched and exported again.
//! - **Marked written, temporary file present** (a crash in step 5 before
//!   the rename): the file is complete and on disk. If its size and hash
//!   match the intent, finish the rename and record it; if not (someone
//!   touched it), delete it and forget the intent.
//! - **Marked written, temporary file gone** (a crash after the rename, in
//!   step 5 or 6): the rename happened. The final file is in the folder, or
//!   the ERP has already taken it; either way the orders were delivered:
//!   record them.
//!
//! An order is skipped by every later poll once its export row exists (by
//! the poll of any target on the same shop: an order is known by shop and
//! `entity_id`, and one in another target's unfinished intent is left to
//! that target's recovery), and no order is in two intents at once:
//! recovery runs before each poll, and one instance holds the state
//! directory.
//!
//! ## Crash points
//!
//! [`FailPoint`] names each gap between the steps. [`Hooks`] can make an
//! export stop there as a crash would (no clean-up, an error back), or pause
//! there (for a test to `kill -9` the process). Only code sets them: no
//! build of the `ponte` binary reads them from anywhere, so no environment
//! variable left on a production machine can make it stop or hang. A test
//! that kills a paused export runs the poll in a process of its own (the
//! test binary itself, see `tests/orders.rs`): a cargo feature or a
//! `debug_assertions` switch would have kept the hook in some build of the
//! binary, and `cargo test` would have tested a binary unlike the shipped
//! one.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::map::MappedOrder;
use crate::magento::time;
use crate::state::{ExportIntent, IntentOrder, Store, StoreError};
use ponte_layout::record::writer::{format_record, FileWriter, WriteError};
use ponte_layout::schema::{Mode, Schema};

/// The gaps between the protocol's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    /// The intent is committed; no file yet.
    AfterIntent,
    /// Half of the temporary file is written, not fsynced.
    MidWrite,
    /// The temporary file is complete and fsynced; the intent does not say so.
    AfterTempSynced,
    /// The intent says written; not renamed yet.
    AfterWritten,
    /// Renamed; the folder not fsynced, nothing recorded.
    AfterRename,
    /// Recorded; the follow-ups not sent.
    AfterRecord,
}

impl FailPoint {
    pub const ALL: [FailPoint; 6] = [
        FailPoint::AfterIntent,
        FailPoint::MidWrite,
        FailPoint::AfterTempSynced,
        FailPoint::AfterWritten,
        FailPoint::AfterRename,
        FailPoint::AfterRecord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailPoint::AfterIntent => "after-intent",
            FailPoint::MidWrite => "mid-write",
            FailPoint::AfterTempSynced => "after-temp-synced",
            FailPoint::AfterWritten => "after-written",
            FailPoint::AfterRename => "after-rename",
            FailPoint::AfterRecord => "after-record",
        }
    }

    pub fn parse(name: &str) -> Option<FailPoint> {
        FailPoint::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// Where an export stops as if crashed, or pauses for a `kill -9`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hooks {
    pub fail_at: Option<FailPoint>,
    pub pause_at: Option<FailPoint>,
}

impl Hooks {
    pub fn check(&self, point: FailPoint) -> Result<(), ExportError> {
        if self.pause_at == Some(point) {
            // For a test that kills the process here: say so, then wait.
            eprintln!("ponte: paused at {}", point.as_str());
            let _ = std::io::stderr().flush();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        if self.fail_at == Some(point) {
            return Err(ExportError::Injected(point));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("stopped at {} (injected failure)", .0.as_str())]
    Injected(FailPoint),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where files go and what their header says.
pub(crate) struct Outbound<'a> {
    pub dir: &'a Path,
    pub schema: &'a Schema,
    pub company: &'a str,
    /// The Magento the orders come from (the target's `base_url`): an
    /// export is recorded against it as well as against the target.
    pub shop: &'a str,
}

/// A file that reached the folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Written {
    pub file: String,
    pub orders: Vec<IntentOrder>,
}

/// An order left out of a file because the layout cannot hold a value.
#[derive(Debug)]
pub(crate) struct Refused {
    pub order: MappedOrder,
    pub error: WriteError,
}

/// The temporary name of `file`.
pub(crate) fn temp_name(file: &str) -> String {
    format!(".{file}.tmp")
}

/// Writes `orders` as one file, by the protocol above. Once the file is
/// safe the target's watermark moves to the latest `updated_at` written, but
/// never past `cap` nor past an order left out (so that those are fetched
/// again). `followup`: mark the exports for a comment or status change.
/// Returns the file (`None` when no order could be written) and the orders
/// left out.
pub(crate) fn export(
    store: &mut Store,
    out: &Outbound,
    target: &str,
    orders: Vec<MappedOrder>,
    cap: Option<&str>,
    followup: bool,
    hooks: &Hooks,
) -> Result<(Option<Written>, Vec<Refused>), ExportError> {
    let (file, stamp) = choose_name(store, out.dir)?;
    let (content, included, refused) = render(out, stamp, orders)?;
    if included.is_empty() {
        return Ok((None, refused));
    }
    let highest = included.iter().map(|o| o.updated_at.as_str()).max();
    let lowest_left_out = refused
        .iter()
        .map(|r| r.order.updated_at.as_str())
        .chain(cap)
        .min();
    let watermark = match (highest, lowest_left_out) {
        (Some(h), Some(l)) => Some(h.min(l)),
        (h, _) => h,
    };
    let list: Vec<IntentOrder> = included
        .iter()
        .map(|o| IntentOrder {
            id: o.id,
            increment_id: o.increment_id.clone(),
            updated_at: o.updated_at.clone(),
        })
        .collect();
    // 2. intent
    let intent_id = store.begin_export(target, out.shop, &file, stamp, &list, watermark)?;
    hooks.check(FailPoint::AfterIntent)?;
    // 3. temporary file
    let temp = out.dir.join(temp_name(&file));
    write_synced(&temp, &content, hooks)?;
    hooks.check(FailPoint::AfterTempSynced)?;
    // 4. written
    let hash = format!("{:016x}", xxh3_64(&content));
    store.mark_export_written(intent_id, content.len() as u64, &hash)?;
    hooks.check(FailPoint::AfterWritten)?;
    // 5. rename
    let final_path = out.dir.join(&file);
    fs::rename(&temp, &final_path).map_err(io(&final_path))?;
    hooks.check(FailPoint::AfterRename)?;
    sync_dir(out.dir)?;
    // 6. record
    let intent = ExportIntent {
        id: intent_id,
        target: target.to_string(),
        shop: Some(out.shop.to_string()),
        file: file.clone(),
        orders: list.clone(),
        watermark: watermark.map(str::to_string),
        written: Some((content.len() as u64, hash)),
    };
    store.complete_export(&intent, followup)?;
    hooks.check(FailPoint::AfterRecord)?;
    Ok((Some(Written { file, orders: list }), refused))
}

/// The next free name and its stamp (step 1).
fn choose_name(store: &Store, dir: &Path) -> Result<(String, i64), ExportError> {
    let mut stamp = time::now_secs();
    if let Some(last) = store.last_export_stamp()? {
        stamp = stamp.max(last + 1);
    }
    loop {
        let name = format!("ORD{}.txt", time::stamp(stamp));
        let taken = dir.join(&name).exists()
            || dir.join(temp_name(&name)).exists()
            || store.export_file_known(&name)?;
        if !taken {
            return Ok((name, stamp));
        }
        stamp += 1;
    }
}

/// A file's bytes, the orders in it and the orders left out.
type Rendered = (Vec<u8>, Vec<MappedOrder>, Vec<Refused>);

/// The whole file in memory: header, each order that the layout can hold,
/// trailer.
fn render(out: &Outbound, stamp: i64, orders: Vec<MappedOrder>) -> Result<Rendered, ExportError> {
    let mut writer = FileWriter::new(
        out.schema,
        Vec::new(),
        time::date(stamp),
        Mode::Changes,
        out.company,
    )?;
    let mut included = Vec::with_capacity(orders.len());
    let mut refused = Vec::new();
    for order in orders {
        let check = order
            .records
            .iter()
            .try_for_each(|(tag, values)| format_record(out.schema, tag, values).map(|_| ()));
        if let Err(error) = check {
            refused.push(Refused { order, error });
            continue;
        }
        for (tag, values) in &order.records {
            writer.record(tag, values)?;
        }
        included.push(order);
    }
    let content = writer.finish()?;
    Ok((content, included, refused))
}

fn write_synced(path: &Path, content: &[u8], hooks: &Hooks) -> Result<(), ExportError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    let mut f: File = opts.open(path).map_err(io(path))?;
    let half = content.len() / 2;
    f.write_all(&content[..half]).map_err(io(path))?;
    hooks.check(FailPoint::MidWrite)?;
    f.write_all(&content[half..]).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), ExportError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// What recovery did with one intent.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Recovered {
    /// The file reached the folder: its orders are recorded as exported.
    Delivered(Written),
    /// The file never reached the folder: the intent is forgotten.
    Forgotten { file: String },
}

/// Settles the intents an earlier run left for `target` (see Recovery).
pub(crate) fn recover(
    store: &mut Store,
    dir: &Path,
    target: &str,
    followup: bool,
) -> Result<Vec<Recovered>, ExportError> {
    let mut done = Vec::new();
    for intent in store.export_intents(target)? {
        let final_path = dir.join(&intent.file);
        let temp = dir.join(temp_name(&intent.file));
        let delivered = match &intent.written {
            None => {
                if final_path.exists() {
                    true
                } else {
                    remove_if_present(&temp)?;
                    false
                }
            }
            Some((size, hash)) => match read_back(&temp) {
                Ok(content) => {
                    let intact = content.len() as u64 == *size
                        && format!("{:016x}", xxh3_64(&content)) == *hash;
                    if intact && !final_path.exists() {
                        fs::rename(&temp, &final_path).map_err(io(&final_path))?;
                        sync_dir(dir)?;
                        true
                    } else {
                        tracing::warn!(file = %temp.display(), "the temporary file does not match its intent; deleting it");
                        remove_if_present(&temp)?;
                        false
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(io(&temp)(e)),
            },
        };
        if delivered {
            store.complete_export(&intent, followup)?;
            tracing::info!(target = %target, file = %intent.file, orders = intent.orders.len(), "recovered an export: the file had reached the folder");
            done.push(Recovered::Delivered(Written {
                file: intent.file.clone(),
                orders: intent.orders.clone(),
            }));
        } else {
            store.forget_export(intent.id)?;
            tracing::info!(target = %target, file = %intent.file, orders = intent.orders.len(), "forgot an unfinished export: its orders will be fetched again");
            done.push(Recovered::Forgotten { file: intent.file });
        }
    }
    Ok(done)
}

/// ponte's own temporary file, read back through the share's one way of
/// opening a file (outbound is on the share too).
fn read_back(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut content = Vec::new();
    ponte_layout::record::open::open_file(path)?.read_to_end(&mut content)?;
    Ok(content)
}

fn remove_if_present(path: &Path) -> Result<(), ExportError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path)(e)),
    }
}
