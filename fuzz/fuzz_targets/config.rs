//! A run config (TOML) from arbitrary UTF-8: parsed or rejected with an error, never a panic.
//!
//! The input is `config text [\0 override [\0 override ...]]`: the text is parsed once alone and
//! once with the `--set key=value` overrides that follow the first NUL byte. A config that is
//! accepted must write itself out (the run directory's `config.toml`) as TOML that is accepted
//! again and means the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegd_cli::config::RunConfig;

fn check_round_trip(config: &RunConfig) {
    let written = config.to_toml().expect("an accepted config serializes");
    let again = RunConfig::parse(&written, &[])
        .unwrap_or_else(|e| panic!("the written config is refused: {e:#}\n{written}"));
    assert_eq!(
        again.to_toml().expect("serializes"),
        written,
        "the written config does not read back the same"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or("");
    let overrides: Vec<String> = parts.map(str::to_string).collect();
    if let Ok(config) = RunConfig::parse(text, &[]) {
        check_round_trip(&config);
    }
    if !overrides.is_empty() {
        if let Ok(config) = RunConfig::parse(text, &overrides) {
            check_round_trip(&config);
        }
    }
});
