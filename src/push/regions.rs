//! A customer address's province is a region of its country in Magento,
//! stored by id: `Customer\Model\Address` takes `region_id` as sent and
//! looks nothing up by code. The ERP's province code is resolved through
//! `GET /V1/directory/countries/{countryId}` (`available_regions`), one call
//! per country per target, cached for the run.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;
use tokio::sync::Mutex;

use crate::magento::client::RestClient;
use crate::magento::error::ApiError;
use crate::push::payload::{path_segment, Region};

#[derive(Default)]
pub(crate) struct RegionCache {
    /// country id -> its regions (empty: none, or a country the store does
    /// not offer). One lock, so that a country is asked for once.
    countries: Mutex<HashMap<String, Arc<Vec<Region>>>>,
}

impl RegionCache {
    /// The region of `country` whose code is `code`; `None` when the country
    /// has no regions or none with that code.
    pub(crate) async fn region(
        &self,
        client: &RestClient,
        country: &str,
        code: &str,
    ) -> Result<Option<Region>, ApiError> {
        let regions = {
            let mut all = self.countries.lock().await;
            match all.get(country) {
                Some(r) => Arc::clone(r),
                None => {
                    let loaded = Arc::new(load(client, country).await?);
                    all.insert(country.to_string(), Arc::clone(&loaded));
                    loaded
                }
            }
        };
        Ok(find(&regions, code))
    }
}

async fn load(client: &RestClient, country: &str) -> Result<Vec<Region>, ApiError> {
    let path = format!("/V1/directory/countries/{}", path_segment(country));
    match client.get(&path, &[]).await {
        Ok(info) => Ok(regions_of(&info)),
        // "Requested country is not available.": no regions to pick from;
        // the customer save tells what Magento thinks of the country.
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The regions of a `directory-data-country-information-interface` answer
/// (ids come as strings; a region without a usable id is skipped).
pub(crate) fn regions_of(info: &Json) -> Vec<Region> {
    info.get("available_regions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let id = match r.get("id")? {
                Json::String(s) => s.trim().parse().ok()?,
                Json::Number(n) => n.as_i64()?,
                _ => return None,
            };
            let text = |k: &str| r.get(k).and_then(Json::as_str).map(str::to_string);
            Some(Region {
                id,
                code: text("code")?,
                name: text("name").unwrap_or_default(),
            })
            .filter(|r| r.id > 0)
        })
        .collect()
}

/// The region with `code` (as the ERP writes it: case and spaces aside).
pub(crate) fn find(regions: &[Region], code: &str) -> Option<Region> {
    let code = code.trim();
    regions
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn italy() -> Json {
        json!({
            "id": "IT", "two_letter_abbreviation": "IT", "three_letter_abbreviation": "ITA",
            "full_name_locale": "Italia", "full_name_english": "Italy",
            "available_regions": [
                {"id": "655", "code": "BG", "name": "Bergamo"},
                {"id": "735", "code": "TO", "name": "Torino"},
                {"id": "", "code": "XX", "name": "Broken"}
            ]
        })
    }

    #[test]
    fn a_province_code_resolves_to_its_region() {
        let regions = regions_of(&italy());
        assert_eq!(regions.len(), 2);
        assert_eq!(
            find(&regions, "BG"),
            Some(Region {
                id: 655,
                code: "BG".into(),
                name: "Bergamo".into()
            })
        );
        assert_eq!(find(&regions, " to ").map(|r| r.id), Some(735));
    }

    #[test]
    fn an_unknown_code_has_no_region() {
        let regions = regions_of(&italy());
        assert_eq!(find(&regions, "ZZ"), None);
        assert_eq!(find(&regions, "XX"), None);
        assert_eq!(find(&regions, ""), None);
    }

    /// Against the stand-in: each country is asked for once per target.
    #[tokio::test]
    async fn the_cache_asks_the_shop_once_per_country() {
        use crate::config::Config;
        use magento_standin::{Fixture, StandIn};

        let shop = StandIn::start(([127, 0, 0, 1], 0).into(), Fixture::demo())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, Fixture::default().integration_token).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let text = format!(
            "[paths]\nstate_dir = \"s\"\ninbound = \"i\"\nin_progress = \"p\"\n\
             archive = \"a\"\nrejected = \"r\"\noutbound = \"o\"\n\
             [[target]]\nname = \"b2c\"\nbase_url = \"{}\"\n\
             auth = {{ token = {{ file = \"token\" }} }}\nretries = 0\n",
            shop.base_url
        );
        let config = Config::from_str_at(&text, dir.path(), "ponte.toml").unwrap();
        let client = RestClient::new(config.target("b2c").unwrap(), None).unwrap();
        let cache = RegionCache::default();

        let bg = cache.region(&client, "IT", "BG").await.unwrap().unwrap();
        assert_eq!(
            (bg.id, bg.code.as_str(), bg.name.as_str()),
            (655, "BG", "Bergamo")
        );
        let to = cache.region(&client, "IT", "TO").await.unwrap().unwrap();
        assert_eq!(to.id, 735);
        assert_eq!(cache.region(&client, "IT", "ZZ").await.unwrap(), None);
        assert_eq!(cache.region(&client, "SM", "SM").await.unwrap(), None);
        // A country the store does not offer (404): no region either.
        assert_eq!(cache.region(&client, "XX", "BG").await.unwrap(), None);
        assert_eq!(cache.region(&client, "XX", "BG").await.unwrap(), None);

        let asked: Vec<String> = shop
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/V1/directory/countries/"))
            .map(|r| r.path.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(asked, ["IT", "SM", "XX"]);
    }

    #[test]
    fn a_country_without_regions_has_none() {
        let san_marino = json!({
            "id": "SM", "two_letter_abbreviation": "SM", "three_letter_abbreviation": "SMR",
            "full_name_locale": "San Marino", "full_name_english": "San Marino"
        });
        assert!(regions_of(&san_marino).is_empty());
        assert_eq!(find(&regions_of(&san_marino), "BG"), None);
    }
}
