use crate::stdout::outln;
use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{CacheArgs, exit};
use crate::cache::Cache;
use crate::session::Session;
use crate::stages::REGISTRY;
use crate::study::Selection;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Keep every entry these pipelines use (as they are now, with their default parameters), and
    /// every point of every sweep they define.
    #[arg(long = "keep-pipelines", value_name = "FILE", num_args = 1..)]
    keep: Vec<PathBuf>,
    /// Remove everything (required when no pipeline is given, so a bare `gc` never empties a cache).
    #[arg(long)]
    all: bool,
    /// Only say what would be removed.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    if a.keep.is_empty() && !a.all {
        return Err(miette::miette!(
            help = "name the pipelines whose entries to keep: quakeline gc --keep-pipelines pipelines/*.toml (or --all)",
            "gc needs --keep-pipelines FILE... or --all"
        ));
    }
    let cache = Cache::new(&a.cache.cache);
    let mut keep = BTreeSet::new();
    for file in &a.keep {
        let plain = Session::open(file, REGISTRY, &[], Selection::Off, cache.clone())?;
        let mut sessions = Vec::new();
        for sweep in &plain.base.sweeps {
            sessions.push(Session::open(
                file,
                REGISTRY,
                &[],
                Selection::Named(&sweep.name),
                cache.clone(),
            )?);
        }
        sessions.push(plain);
        for s in sessions {
            keep.extend(s.plans.into_iter().flat_map(|p| p.stages).map(|s| s.key));
        }
    }
    // Entries computed on another device (`--device cuda`) are kept with the computation they
    // repeat: an entry whose key fields, device class dropped and inputs mapped the same way,
    // hash to a kept key is kept (a GPU-trained model of a kept pipeline is not garbage).
    keep.extend(crate::cache::off_device_twins(&cache.manifests(), &keep));
    let (mut removed, mut freed, mut kept) = (0, 0u64, 0);
    // A dry run lists what it would remove (key, what made it, size), as `git clean -n` does.
    let made_by: std::collections::BTreeMap<String, String> = if a.dry_run {
        cache
            .manifests()
            .into_iter()
            .map(|m| {
                (
                    m.key.clone(),
                    format!("{}/{} ({})", m.pipeline, m.stage, m.kind),
                )
            })
            .collect()
    } else {
        Default::default()
    };
    for key in cache.object_keys() {
        if keep.contains(&key) {
            kept += 1;
            continue;
        }
        removed += 1;
        if a.dry_run {
            let size = cache.footprint(&key);
            freed += size;
            outln!(
                "would remove {}  {}  {:.1} MB",
                &key[..12.min(key.len())],
                made_by.get(&key).map_or("(no manifest)", String::as_str),
                size as f64 / 1e6
            );
        } else {
            freed += cache.remove(&key)?;
        }
    }
    let temps = if a.dry_run { 0 } else { cache.clean_temps() };
    let verb = if a.dry_run { "would remove" } else { "removed" };
    outln!(
        "{verb} {removed} entr{} ({:.1} MB), kept {kept}; {temps} stale temp file(s) removed",
        if removed == 1 { "y" } else { "ies" },
        freed as f64 / 1e6
    );
    Ok(exit::OK)
}
