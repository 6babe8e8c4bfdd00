//! A deterministic generator of ARTICOLI files for the benchmarks: realistic
//! Italian names in Windows-1252, simple products and configurable parents
//! with their variants, the occasional line stripped of trailing blanks.

// Each bench includes this file and uses only part of it.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

pub const RECORD_LENGTH: usize = 450;

/// xorshift64*: deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

// Windows-1252: 0xE0 à, 0xE8 è, 0xE9 é, 0xEC ì, 0xF2 ò, 0xF9 ù, 0x80 €,
// 0xB0 °, 0xAB « and 0xBB ».
const PRODUCTS: [(&[u8], &[u8], &[u8]); 16] = [
    (b"CAF", b"Caff\xe8 espresso in grani", b"KG"),
    (b"TAZ", b"Tazzine in porcellana", b"CF"),
    (b"POL", b"Polo in piqu\xe8 di cotone", b"PZ"),
    (b"MAG", b"Maglione girocollo", b"PZ"),
    (b"SCA", b"Scarpe da trekking", b"PZ"),
    (b"BOR", b"Borsa in pelle", b"PZ"),
    (b"PAS", b"Pasta di Gragnano IGP", b"KG"),
    (b"OLI", b"Olio extravergine d'oliva", b"LT"),
    (b"CIO", b"Cioccolato fondente 70%", b"PZ"),
    (b"TSH", b"T-shirt in cotone biologico", b"PZ"),
    (b"GIA", b"Giacca imbottita", b"PZ"),
    (b"PEN", b"Pentola antiaderente", b"PZ"),
    (b"PAN", b"Panettone artigianale", b"PZ"),
    (b"LIM", b"Liquore al limone di Sorrento", b"LT"),
    (b"ZAI", b"Zaino da citt\xe0", b"PZ"),
    (b"TOV", b"Tovaglia di lino", b"MT"),
];

const QUALIFIERS: [&[u8]; 10] = [
    b"",
    b" classico",
    b" qualit\xe0 superiore",
    b" edizione limitata",
    b" - il pi\xf9 venduto",
    b" novit\xe0",
    b" made in Italy",
    b" linea Perch\xe9 no",
    b" gusto intenso",
    b" per l'et\xe0 adulta",
];

const PHRASES: [&[u8]; 14] = [
    b"Prodotto in Italia con materie prime selezionate.",
    b"Lavabile in lavatrice a 30\xb0C, non candeggiare.",
    b"Confezione regalo disponibile su richiesta.",
    b"Ideale per l'uso quotidiano: pratico, leggero e resistente.",
    b"Garanzia di 24 mesi e assistenza in tutta Italia.",
    b"Prezzo in \x80 IVA inclusa, spese di spedizione escluse.",
    b"Caratteristiche: comodit\xe0, durata e facilit\xe0 di manutenzione.",
    b"Non contiene glutine n\xe9 lattosio.",
    b"Spedizione in 24/48 ore lavorative.",
    b"\xabIl migliore della categoria\xbb secondo i nostri clienti.",
    b"Tostatura media, aroma di cacao e frutta secca.",
    b"Conservare in luogo fresco e asciutto, lontano da fonti di calore.",
    b"Cuciture rinforzate, fodera interna in cotone.",
    b"Perch\xe9 sceglierlo? Perch\xe9 dura di pi\xf9.",
];

const BRANDS: [&[u8]; 10] = [
    b"Torrefazione Nova",
    b"Ceramiche Faentine",
    b"Lanificio Biellese",
    b"Pastificio Fabbri",
    b"Calzaturificio Ros\xe8",
    b"Frantoio Sant'Agata",
    b"Pelletteria Fiorentina",
    b"Dolciaria Bont\xe0",
    b"Sartoria Citt\xe0 Alta",
    b"Casalinghi Gi\xf2",
];

const SIZES: [&[u8]; 8] = [b"XS", b"S", b"M", b"L", b"XL", b"XXL", b"42", b"44"];

const COLORS: [(&[u8], &[u8]); 10] = [
    (b"BLU", b"Blu navy"),
    (b"ROS", b"Rosso"),
    (b"BIA", b"Bianco"),
    (b"NER", b"Nero"),
    (b"GRI", b"Grigio melange"),
    (b"VER", b"Verde bosco"),
    (b"BEI", b"Beige"),
    (b"BOR", b"Bordeaux"),
    (b"AZZ", b"Azzurro"),
    (b"CRE", b"Cr\xe8me"),
];

const VAT_CODES: [&[u8]; 6] = [b"22", b"22", b"22", b"10", b"04", b"00"];

/// Copies `value` left-aligned into the field at 1-based `pos`, cut at `len`.
fn put(rec: &mut [u8], pos: usize, len: usize, value: &[u8]) {
    let n = value.len().min(len);
    rec[pos - 1..pos - 1 + n].copy_from_slice(&value[..n]);
}

/// Writes `value` right-aligned and zero-padded into the field.
fn put_num(rec: &mut [u8], pos: usize, len: usize, mut value: u64) {
    for i in (0..len).rev() {
        rec[pos - 1 + i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn put_date(rec: &mut [u8], pos: usize, rng: &mut Rng) {
    let (y, m, d) = (2019 + rng.below(8), 1 + rng.below(12), 1 + rng.below(28));
    put_num(rec, pos, 8, y * 10_000 + m * 100 + d);
}

struct Product<'a> {
    sku: &'a [u8],
    parent: &'a [u8],
    kind: u8,
    name: &'a [u8],
    unit: &'a [u8],
    brand: &'a [u8],
    size: &'a [u8],
    color: &'a [u8],
    price_cents: u64,
    weight_grams: u64,
    vat: &'a [u8],
}

/// Writes the file: header, `rows` AR records, trailer. Returns its size.
pub fn generate(path: &Path, rows: u64, seed: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng(seed | 1);
    let mut rec = [b' '; RECORD_LENGTH];
    let mut written = 0u64;
    let mut line = |out: &mut BufWriter<File>, rec: &[u8]| -> std::io::Result<()> {
        out.write_all(rec)?;
        out.write_all(b"\r\n")?;
        written += rec.len() as u64 + 2;
        Ok(())
    };

    put(&mut rec, 1, 2, b"TE");
    put(&mut rec, 3, 10, b"ARTICOLI");
    put(&mut rec, 13, 14, b"20261128020000");
    put(&mut rec, 27, 1, b"C");
    put(&mut rec, 28, 6, b"000001");
    line(&mut out, &rec)?;

    let mut description = Vec::with_capacity(300);
    let mut done = 0u64;
    let mut group = 0u64;
    while done < rows {
        group += 1;
        let (code, base_name, unit) = *rng.pick(&PRODUCTS);
        let qualifier = *rng.pick(&QUALIFIERS);
        let mut name = base_name.to_vec();
        name.extend_from_slice(qualifier);
        let brand = *rng.pick(&BRANDS);
        let vat = *rng.pick(&VAT_CODES);
        let price_cents = 99 + rng.below(250_000);
        let weight_grams = 20 + rng.below(12_000);
        let left = rows - done;
        // Two products in five are configurable parents with 2-8 variants.
        let variants = if left >= 3 && rng.percent(40) {
            (2 + rng.below(7)).min(left - 1)
        } else {
            0
        };
        let sku = format!("{}-{:08}", std::str::from_utf8(code)?, group);
        let parent = Product {
            sku: sku.as_bytes(),
            parent: b"",
            kind: if variants > 0 { b'C' } else { b'S' },
            name: &name,
            unit,
            brand,
            size: b"",
            color: b"",
            price_cents,
            weight_grams,
            vat,
        };
        write_product(&mut out, &mut line, &mut rng, &parent, &mut description)?;
        done += 1;
        let first_size = rng.below(SIZES.len() as u64) as usize;
        for v in 0..variants {
            let size = SIZES[(first_size + v as usize / 2) % SIZES.len()];
            let (color_code, color) = COLORS[(group as usize + v as usize) % COLORS.len()];
            let mut vsku = sku.as_bytes().to_vec();
            vsku.push(b'-');
            vsku.extend_from_slice(size);
            vsku.push(b'-');
            vsku.extend_from_slice(color_code);
            let mut vname = name.clone();
            vname.extend_from_slice(b" ");
            vname.extend_from_slice(color);
            vname.extend_from_slice(b" tg. ");
            vname.extend_from_slice(size);
            let variant = Product {
                sku: &vsku,
                parent: sku.as_bytes(),
                kind: b'V',
                name: &vname,
                size,
                color,
                price_cents: price_cents + 100 * rng.below(3),
                ..parent
            };
            write_product(&mut out, &mut line, &mut rng, &variant, &mut description)?;
            done += 1;
        }
    }

    rec.fill(b' ');
    put(&mut rec, 1, 2, b"CO");
    put_num(&mut rec, 3, 9, rows);
    line(&mut out, &rec)?;
    out.flush()?;
    drop(out);
    Ok(written)
}

fn write_product(
    out: &mut BufWriter<File>,
    line: &mut impl FnMut(&mut BufWriter<File>, &[u8]) -> std::io::Result<()>,
    rng: &mut Rng,
    p: &Product,
    description: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut rec = [b' '; RECORD_LENGTH];
    put(&mut rec, 1, 2, b"AR");
    put(&mut rec, 3, 20, p.sku);
    put(&mut rec, 23, 20, p.parent);
    rec[42] = p.kind;
    put(&mut rec, 44, 60, p.name);
    description.clear();
    for i in 0..1 + rng.below(5) {
        if i > 0 {
            description.push(b' ');
        }
        let phrase: &[u8] = PHRASES[rng.below(PHRASES.len() as u64) as usize];
        description.extend_from_slice(phrase);
    }
    put(&mut rec, 104, 250, description);
    if p.kind != b'C' {
        put_num(
            &mut rec,
            354,
            13,
            8_000_000_000_000 + rng.below(1_000_000_000_000),
        );
    }
    put_num(&mut rec, 367, 11, p.price_cents);
    put_num(&mut rec, 378, 9, p.weight_grams);
    put(&mut rec, 387, 2, p.vat);
    rec[388] = if rng.percent(95) { b'S' } else { b'N' };
    put(&mut rec, 390, 20, p.brand);
    put(&mut rec, 410, 10, p.size);
    put(&mut rec, 420, 20, p.color);
    put(&mut rec, 440, 3, p.unit);
    let stripped = rng.percent(1);
    if stripped {
        // A copy tool stripped the trailing blanks: no change date, a short line.
        let end = rec.iter().rposition(|&b| b != b' ').map_or(0, |e| e + 1);
        return line(out, &rec[..end]);
    }
    if rng.percent(5) {
        put(&mut rec, 443, 8, b"00000000");
    } else {
        put_date(&mut rec, 443, rng);
    }
    line(out, &rec)
}

/// A configuration with one target taking products only, for benches that
/// never reach it (its URL is a closed port).
pub fn products_only_config(target: &str) -> String {
    format!(
        r#"
[paths]
state_dir = "state"
inbound = "share/inbound"
in_progress = "share/in-progress"
archive = "share/archive"
rejected = "share/rejected"
outbound = "share/outbound"

[[target]]
name = "{target}"
base_url = "http://127.0.0.1:9"
auth = {{ token = {{ env = "PONTE_BENCH_UNUSED_TOKEN" }} }}
flows = ["products"]
[target.tax_classes]
"22" = 2
"10" = 7
"04" = 8
"00" = 0
"#
    )
}
