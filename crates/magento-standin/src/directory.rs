//! The directory: `GET /V1/directory/countries` and
//! `GET /V1/directory/countries/{countryId}`
//! (`directory-data-country-information-interface`), as
//! `CountryInformationAcquirer` answers them: a country's regions under
//! `available_regions` as `{id, code, name}` with the id a string, the key
//! left out for a country without regions, and 404 "Requested country is
//! not available." for a country the store does not offer. Anonymous, as
//! in Magento's `webapi.xml`.
//!
//! Italy's regions are its provinces, as Magento's `AddDataForItaly` patch
//! adds them (codes and names as there). Only some are listed. The ids are
//! those of a plain 2.4 install, where the patch inserts the provinces one
//! after the other in its order (Agrigento 642 ... Bergamo 655): a real shop's ids
//! depend on its install history, which is why ponte looks them up.

use serde_json::{json, Map, Value as Json};

use super::errors::ApiError;
use super::router::{Reply, Request, Route};
use super::state::ShopState;

/// This resource's routes, below `/V1`.
pub(crate) const ROUTES: &[Route] = &[
    Route::open("GET", "/directory/countries", list),
    Route::open("GET", "/directory/countries/{countryId}", get),
];

/// One region of a country: Magento's `directory_country_region` row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Region {
    pub(crate) id: i64,
    pub(crate) code: &'static str,
    pub(crate) name: &'static str,
}

/// A country the stand-in's store offers.
pub(crate) struct Country {
    pub(crate) id: &'static str,
    pub(crate) iso3: &'static str,
    pub(crate) name: &'static str,
    pub(crate) regions: &'static [Region],
}

const fn region(id: i64, code: &'static str, name: &'static str) -> Region {
    Region { id, code, name }
}

/// Italian provinces (`AddDataForItaly`), in Magento's order.
const ITALY: [Region; 10] = [
    region(655, "BG", "Bergamo"),
    region(657, "BO", "Bologna"),
    region(676, "FI", "Firenze"),
    region(680, "GE", "Genova"),
    region(697, "MI", "Milano"),
    region(700, "NA", "Napoli"),
    region(705, "PA", "Palermo"),
    region(723, "RM", "Roma"),
    region(735, "TO", "Torino"),
    region(742, "VE", "Venezia"),
];

/// Austria's states, with the ids `InitializeDirectoryData` gives them.
const AUSTRIA: [Region; 9] = [
    region(95, "WI", "Wien"),
    region(96, "NO", "Niederösterreich"),
    region(97, "OO", "Oberösterreich"),
    region(98, "SB", "Salzburg"),
    region(99, "KN", "Kärnten"),
    region(100, "ST", "Steiermark"),
    region(101, "TI", "Tirol"),
    region(102, "BL", "Burgenland"),
    region(103, "VB", "Vorarlberg"),
];

/// The store's countries, sorted by id. San Marino, the Netherlands and the
/// United Kingdom have no regions in Magento.
pub(crate) const COUNTRIES: [Country; 5] = [
    Country {
        id: "AT",
        iso3: "AUT",
        name: "Austria",
        regions: &AUSTRIA,
    },
    Country {
        id: "GB",
        iso3: "GBR",
        name: "United Kingdom",
        regions: &[],
    },
    Country {
        id: "IT",
        iso3: "ITA",
        name: "Italy",
        regions: &ITALY,
    },
    Country {
        id: "NL",
        iso3: "NLD",
        name: "Netherlands",
        regions: &[],
    },
    Country {
        id: "SM",
        iso3: "SMR",
        name: "San Marino",
        regions: &[],
    },
];

pub(crate) fn country(id: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.id == id)
}

/// The region with `id` in `country`, if it is one of its regions.
pub(crate) fn region_of(country_id: &str, id: i64) -> Option<Region> {
    country(country_id)?
        .regions
        .iter()
        .find(|r| r.id == id)
        .copied()
}

fn info(c: &Country) -> Json {
    let mut m = Map::new();
    m.insert("id".into(), json!(c.id));
    m.insert("two_letter_abbreviation".into(), json!(c.id));
    m.insert("three_letter_abbreviation".into(), json!(c.iso3));
    // The stand-in's stores are in en_US.
    m.insert("full_name_locale".into(), json!(c.name));
    m.insert("full_name_english".into(), json!(c.name));
    if !c.regions.is_empty() {
        let regions: Vec<Json> = c
            .regions
            .iter()
            .map(|r| json!({ "id": r.id.to_string(), "code": r.code, "name": r.name }))
            .collect();
        m.insert("available_regions".into(), Json::Array(regions));
    }
    Json::Object(m)
}

fn list(_state: &mut ShopState, _req: &Request) -> Reply {
    Ok(Json::Array(COUNTRIES.iter().map(info).collect()))
}

fn get(_state: &mut ShopState, req: &Request) -> Reply {
    country(req.param("countryId"))
        .map(info)
        .ok_or_else(|| ApiError::not_found("Requested country is not available."))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::Fixture;
    use super::super::in_process::test_call;
    use super::*;

    #[test]
    fn countries_carry_their_regions() {
        let mut s = ShopState::from_fixture(Fixture::demo());
        let it = test_call(&mut s, "GET", "/V1/directory/countries/IT", "", &Json::Null).unwrap();
        assert_eq!(it["three_letter_abbreviation"], "ITA");
        let regions = it["available_regions"].as_array().unwrap();
        let bg = regions.iter().find(|r| r["code"] == "BG").unwrap();
        assert_eq!(bg, &json!({"id": "655", "code": "BG", "name": "Bergamo"}));
        let sm = test_call(&mut s, "GET", "/V1/directory/countries/SM", "", &Json::Null).unwrap();
        assert!(sm.get("available_regions").is_none());
        let all = test_call(&mut s, "GET", "/V1/directory/countries", "", &Json::Null).unwrap();
        assert_eq!(all.as_array().unwrap().len(), COUNTRIES.len());
        let e =
            test_call(&mut s, "GET", "/V1/directory/countries/XX", "", &Json::Null).unwrap_err();
        assert_eq!(e.status, 404);
        assert_eq!(e.message, "Requested country is not available.");
        assert_eq!(region_of("IT", 735).map(|r| r.code), Some("TO"));
        assert_eq!(region_of("AT", 735), None);
    }
}
