//! The built-in schemas and their twins in the other charsets, the sets the
//! fuzz targets scan with. Included by path by both fuzz packages (this one
//! and ponte's `fuzz/`), so that they fuzz the same layouts.

use std::sync::OnceLock;

use ponte_layout::schema::{parse_schema, Registry, Schema};

const TEXTS: [(&str, &str); 5] = [
    (
        "articoli.toml",
        include_str!("../../../../schemas/articoli.toml"),
    ),
    (
        "giacenze.toml",
        include_str!("../../../../schemas/giacenze.toml"),
    ),
    (
        "clienti.toml",
        include_str!("../../../../schemas/clienti.toml"),
    ),
    (
        "evasioni.toml",
        include_str!("../../../../schemas/evasioni.toml"),
    ),
    (
        "ordini.toml",
        include_str!("../../../../schemas/ordini.toml"),
    ),
];

/// [built-in (windows-1252), utf-8 twins, iso-8859-15 twins]
fn sets() -> &'static [Vec<Schema>; 3] {
    static S: OnceLock<[Vec<Schema>; 3]> = OnceLock::new();
    S.get_or_init(|| {
        let built_in: Vec<Schema> = Registry::built_in()
            .schemas
            .iter()
            .map(|s| (**s).clone())
            .collect();
        assert_eq!(built_in.len(), TEXTS.len());
        let twins = |label: &str| -> Vec<Schema> {
            TEXTS
                .iter()
                .map(|(name, text)| {
                    let text = text.replace(
                        "encoding = \"windows-1252\"",
                        &format!("encoding = \"{label}\""),
                    );
                    parse_schema(name, &text).expect("twin schema loads")
                })
                .collect()
        };
        [built_in, twins("utf-8"), twins("iso-8859-15")]
    })
}

/// The set the two top bits of the input's first byte pick.
pub fn picked_by(knobs: u8) -> &'static [Schema] {
    match knobs >> 6 {
        2 => &sets()[1],
        3 => &sets()[2],
        _ => &sets()[0],
    }
}
