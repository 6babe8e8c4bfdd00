//! Reading a file in blocks split at line boundaries, processing the blocks
//! in parallel on rayon and handing the results on in file order.
//!
//! Memory stays bounded whatever the file's size: a reader thread fills at
//! most a few blocks ahead while the current batch is processed.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::channel;

use anyhow::{bail, Context};

use super::open::open_file;
use super::stop::{check, stop_flag};
use std::sync::atomic::AtomicBool;

const DOS_EOF: u8 = 0x1A;

#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    pub block_size: usize,
    /// A line longer than this is refused rather than buffered without bound.
    pub max_line: usize,
    /// Blocks read ahead and in processing at most.
    pub batch: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            block_size: 1 << 20,
            max_line: 1 << 20,
            batch: 3 * rayon::current_num_threads().max(1),
        }
    }
}

/// A run of whole lines from the file.
pub struct Chunk {
    pub data: Vec<u8>,
    /// The 1-based number of the chunk's first line.
    pub first_line: u64,
    /// Byte offset of the chunk's start in the file.
    pub offset: u64,
    pub line_count: u64,
}

impl Chunk {
    /// The chunk's lines with their numbers, without line endings.
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let body = self.data.strip_suffix(b"\n").unwrap_or(&self.data);
        // Split with memchr, not byte by byte: this runs over every byte.
        let mut rest = (!self.data.is_empty()).then_some(body);
        std::iter::from_fn(move || {
            let r = rest?;
            match memchr::memchr(b'\n', r) {
                Some(at) => {
                    rest = Some(&r[at + 1..]);
                    Some(&r[..at])
                }
                None => {
                    rest = None;
                    Some(r)
                }
            }
        })
        .zip(self.first_line..)
        .map(|(line, no)| (no, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// Reads `path` and runs `map` on each chunk in parallel, then `sink` on the
/// results in file order. Returns the number of lines read.
pub fn process_file<T, M, S>(
    path: &Path,
    opts: &ReadOptions,
    map: M,
    sink: S,
) -> anyhow::Result<u64>
where
    T: Send,
    M: Fn(&Chunk) -> T + Sync,
    S: FnMut(T) -> anyhow::Result<()>,
{
    let file = open_file(path)?;
    process_reader(file, opts, map, sink).with_context(|| format!("{}", path.display()))
}

pub fn process_reader<R, T, M, S>(
    reader: R,
    opts: &ReadOptions,
    map: M,
    mut sink: S,
) -> anyhow::Result<u64>
where
    R: Read + Send,
    T: Send,
    M: Fn(&Chunk) -> T + Sync,
    S: FnMut(T) -> anyhow::Result<()>,
{
    let in_flight = opts.batch.max(1);
    if rayon::current_thread_index().is_some() {
        // On one of rayon's own threads, waiting for the blocks' results
        // could hold the very thread that has to compute them.
        return process_in_turn(reader, opts, map, sink);
    }
    std::thread::scope(|scope| {
        let (done_tx, done_rx) = channel::<(u64, Done<T>)>();
        // A block comes back once its result was handed on; the reader
        // fills it again. No more than `in_flight` blocks exist, which
        // bounds the memory, and a fresh block for every megabyte would
        // cost a page fault every 4 KiB of the file.
        let (back_tx, back_rx) = channel::<Vec<u8>>();
        let opts = *opts;
        let map = &map;
        scope.spawn(move || {
            let mut splitter = Splitter::new(reader, opts);
            let mut blocks = 0;
            // Each block is processed as soon as it is read, on whichever
            // core is free: no block waits for a slower neighbour.
            rayon::in_place_scope(|tasks| {
                for seq in 0u64.. {
                    let spare = if blocks < in_flight {
                        blocks += 1;
                        Vec::new()
                    } else {
                        match back_rx.recv() {
                            Ok(block) => block,
                            // The results are no longer wanted.
                            Err(_) => return,
                        }
                    };
                    match splitter.next_chunk(spare) {
                        Ok(Some(chunk)) => {
                            let done_tx = done_tx.clone();
                            tasks.spawn(move |_| {
                                // A block that panics is handed on as such:
                                // otherwise the blocks after it would wait
                                // for it forever.
                                let done = match std::panic::catch_unwind(
                                    std::panic::AssertUnwindSafe(|| map(&chunk)),
                                ) {
                                    Ok(result) => Done::Block(result, chunk),
                                    Err(panic) => Done::Panicked(panic),
                                };
                                let _ = done_tx.send((seq, done));
                            });
                        }
                        Ok(None) => return,
                        Err(e) => {
                            let _ = done_tx.send((seq, Done::Failed(e)));
                            return;
                        }
                    }
                }
            });
        });
        // Results arrive in any order and are handed on in file order.
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut lines = 0u64;
        for (seq, done) in done_rx {
            waiting.insert(seq, done);
            while let Some(done) = waiting.remove(&next) {
                next += 1;
                match done {
                    Done::Block(result, chunk) => {
                        lines = chunk.first_line - 1 + chunk.line_count;
                        // The reader may be gone already (end of file); then
                        // the block is simply freed.
                        let _ = back_tx.send(chunk.data);
                        sink(result)?;
                    }
                    Done::Failed(e) => return Err(e),
                    Done::Panicked(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
        Ok(lines)
    })
}

/// `process_reader` without threads: each block read, processed and handed
/// on in turn.
fn process_in_turn<R, T, M, S>(
    reader: R,
    opts: &ReadOptions,
    map: M,
    mut sink: S,
) -> anyhow::Result<u64>
where
    R: Read,
    M: Fn(&Chunk) -> T,
    S: FnMut(T) -> anyhow::Result<()>,
{
    let mut splitter = Splitter::new(reader, *opts);
    let mut lines = 0;
    let mut block = Vec::new();
    while let Some(chunk) = splitter.next_chunk(block)? {
        lines = chunk.first_line - 1 + chunk.line_count;
        sink(map(&chunk))?;
        block = chunk.data;
    }
    Ok(lines)
}

/// A block's outcome, as the reader thread hands it on.
enum Done<T> {
    Block(T, Chunk),
    Failed(anyhow::Error),
    Panicked(Box<dyn std::any::Any + Send>),
}

struct Splitter<R> {
    reader: R,
    opts: ReadOptions,
    carry: Vec<u8>,
    next_line: u64,
    next_offset: u64,
    eof: bool,
    /// Looked at before each block (see `stop`).
    stop: &'static AtomicBool,
}

impl<R: Read> Splitter<R> {
    fn new(reader: R, opts: ReadOptions) -> Self {
        Splitter {
            reader,
            opts,
            carry: Vec::new(),
            next_line: 1,
            next_offset: 0,
            eof: false,
            stop: stop_flag(),
        }
    }

    /// The next run of whole lines, read into `buf`.
    fn next_chunk(&mut self, mut buf: Vec<u8>) -> anyhow::Result<Option<Chunk>> {
        buf.clear();
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        loop {
            if self.eof {
                trim_dos_eof(&mut buf);
                if buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.emit(buf)));
            }
            check(self.stop)?;
            let block = self.opts.block_size.max(1);
            let want = block as u64;
            // One allocation per block rather than read_to_end's doubling.
            buf.reserve(block);
            let got = (&mut self.reader)
                .take(want)
                .read_to_end(&mut buf)
                .context("read failed")?;
            if (got as u64) < want {
                self.eof = true;
            }
            if self.eof {
                continue;
            }
            // The last line stays back even when its line end came in: only
            // at the end of the file is a DOS end-of-file byte on it told
            // apart from data (the file may end right at this block's end).
            if let Some(cut) = memchr::memrchr(b'\n', &buf[..buf.len() - 1]) {
                self.carry.extend_from_slice(&buf[cut + 1..]);
                buf.truncate(cut + 1);
                return Ok(Some(self.emit(buf)));
            }
            if buf.len() > self.opts.max_line && memchr::memchr(b'\n', &buf).is_none() {
                bail!(
                    "line {} is longer than {} bytes: not a fixed-width record file",
                    self.next_line,
                    self.opts.max_line
                );
            }
        }
    }

    fn emit(&mut self, data: Vec<u8>) -> Chunk {
        let first_line = self.next_line;
        let mut newlines = memchr::memchr_iter(b'\n', &data).count() as u64;
        if data.last() != Some(&b'\n') {
            newlines += 1;
        }
        self.next_line += newlines;
        let offset = self.next_offset;
        self.next_offset += data.len() as u64;
        Chunk {
            data,
            first_line,
            offset,
            line_count: newlines,
        }
    }
}

/// A DOS end-of-file byte at the very end (possibly followed by a line end)
/// is not data.
fn trim_dos_eof(buf: &mut Vec<u8>) {
    let mut end = buf.len();
    if buf[..end].ends_with(b"\r\n") {
        end -= 2;
    } else if buf[..end].ends_with(b"\n") {
        end -= 1;
    }
    let mut eof_bytes = 0;
    while end > 0 && buf[end - 1] == DOS_EOF {
        end -= 1;
        eof_bytes += 1;
    }
    if eof_bytes > 0 {
        buf.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8], block: usize) -> Vec<(u64, Vec<u8>)> {
        let opts = ReadOptions {
            block_size: block,
            max_line: 1 << 20,
            batch: 3,
        };
        let mut out = Vec::new();
        process_reader(
            input,
            &opts,
            |c: &Chunk| c.lines().map(|(n, l)| (n, l.to_vec())).collect::<Vec<_>>(),
            |v| {
                out.extend(v);
                Ok(())
            },
        )
        .unwrap();
        out
    }

    /// A block whose processing panics makes the whole panic, rather than
    /// leave the blocks after it waiting.
    #[test]
    fn a_panic_in_a_block_is_a_panic_of_the_whole() {
        let opts = ReadOptions {
            block_size: 3,
            max_line: 1 << 20,
            batch: 1,
        };
        let outcome = std::panic::catch_unwind(|| {
            process_reader(
                &b"aa\nbb\ncc\ndd\n"[..],
                &opts,
                |c: &Chunk| assert!(c.first_line != 2, "block of line 2"),
                |()| Ok(()),
            )
        });
        assert!(outcome.is_err());
    }

    /// Called from one of rayon's threads (a pool of one, here), the
    /// blocks are processed in turn rather than waited for.
    #[test]
    fn inside_rayon_the_blocks_are_processed_in_turn() {
        let input = b"aa\r\nbb\ncc\r\ndd";
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        for block in [1, 3, 64] {
            assert_eq!(
                pool.install(|| lines_of(input, block)),
                lines_of(input, block)
            );
        }
    }

    #[test]
    fn splits_crlf_lf_and_a_last_line_without_newline_in_order() {
        let input = b"aa\r\nbb\ncc\r\ndd";
        for block in [1, 2, 3, 5, 64] {
            let got = lines_of(input, block);
            let want: Vec<(u64, Vec<u8>)> = vec![
                (1, b"aa".to_vec()),
                (2, b"bb".to_vec()),
                (3, b"cc".to_vec()),
                (4, b"dd".to_vec()),
            ];
            assert_eq!(got, want, "block {block}");
        }
    }

    #[test]
    fn trailing_dos_eof_is_not_data() {
        assert_eq!(lines_of(b"aa\r\nbb\r\n\x1a", 4).len(), 2);
        assert_eq!(
            lines_of(b"aa\r\nbb\x1a", 4),
            vec![(1, b"aa".to_vec()), (2, b"bb".to_vec())]
        );
        assert_eq!(lines_of(b"\x1a", 4), vec![]);
        assert_eq!(lines_of(b"", 4), vec![]);
    }

    #[test]
    fn dos_eof_is_not_data_when_the_file_ends_on_a_block_boundary() {
        // Found by the reader fuzz target: with the file's size a multiple of
        // the block size, the last block went out whole and untrimmed.
        let input = b"aa\r\nbb\r\n\x1a\r\n";
        for block in 1..=input.len() + 1 {
            assert_eq!(
                lines_of(input, block),
                vec![(1, b"aa".to_vec()), (2, b"bb".to_vec())],
                "block {block}"
            );
        }
        assert_eq!(lines_of(b"\x1a\n", 1), vec![]);
        assert_eq!(lines_of(b"\n\x1a\n", 1), vec![(1, b"".to_vec())]);
    }

    #[test]
    fn a_line_of_exactly_max_line_bytes_is_read() {
        let opts = ReadOptions {
            block_size: 4,
            max_line: 8,
            batch: 1,
        };
        let mut got = Vec::new();
        process_reader(
            &b"12345678\nab"[..],
            &opts,
            |c: &Chunk| c.lines().map(|(_, l)| l.to_vec()).collect::<Vec<_>>(),
            |v| {
                got.extend(v);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, vec![b"12345678".to_vec(), b"ab".to_vec()]);
    }

    #[test]
    fn blank_lines_keep_their_numbers() {
        let got = lines_of(b"a\n\nb\n", 2);
        assert_eq!(
            got,
            vec![(1, b"a".to_vec()), (2, b"".to_vec()), (3, b"b".to_vec())]
        );
    }

    /// Once the process is stopping, the next block is not read.
    #[test]
    fn a_set_stop_flag_ends_the_read_at_the_next_block() {
        // A flag of the test's own: the process-wide one would stop the
        // other tests' reads.
        static FLAG: AtomicBool = AtomicBool::new(false);
        let opts = ReadOptions {
            block_size: 4,
            max_line: 16,
            batch: 1,
        };
        let mut splitter = Splitter::new(&b"aa\nbb\ncc\ndd\n"[..], opts);
        splitter.stop = &FLAG;
        assert!(splitter.next_chunk(Vec::new()).unwrap().is_some());
        FLAG.store(true, std::sync::atomic::Ordering::SeqCst);
        let Err(err) = splitter.next_chunk(Vec::new()) else {
            panic!("a block was read after the stop");
        };
        assert!(crate::record::stop::is_stopped(&err), "{err:#}");
    }

    #[test]
    fn an_endless_line_is_refused() {
        let opts = ReadOptions {
            block_size: 8,
            max_line: 16,
            batch: 1,
        };
        let err = process_reader(&[b'x'; 100][..], &opts, |_c: &Chunk| (), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("longer than 16 bytes"), "{err}");
    }
}
