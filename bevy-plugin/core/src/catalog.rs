//! The daemon's style presets and palettes (`list_styles`), for pickers in an editor UI.

use serde_json::Value;

/// Names a generation request may use for `style` and `palette`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub styles: Vec<String>,
    pub palettes: Vec<String>,
}

/// Reads `list_styles`' `structuredContent` (`styles` / `palettes`: arrays of names or of
/// objects with a `name`). Entries without a name are skipped.
pub fn parse_catalog(result: &Value) -> Catalog {
    let names = |key: &str| -> Vec<String> {
        result
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| match item {
                        Value::String(name) => Some(name.clone()),
                        other => other.get("name").and_then(Value::as_str).map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Catalog {
        styles: names("styles"),
        palettes: names("palettes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_names_from_strings_and_objects() {
        let result = json!({"styles": [{"name": "pixel_art", "size": 32}, "retro", {"nope": 1}],
                            "palettes": ["pico8", {"name": "nes", "colors": 54}], "limits": {}});
        assert_eq!(
            parse_catalog(&result),
            Catalog {
                styles: vec!["pixel_art".into(), "retro".into()],
                palettes: vec!["pico8".into(), "nes".into()]
            }
        );
        assert_eq!(parse_catalog(&json!({})), Catalog::default());
    }
}
