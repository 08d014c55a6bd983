//! Extraction throughput: Echo's dictionary extractor against the baseline a Python
//! platform typically uses (one case-insensitive word-boundary regex per brand, run over
//! every answer), on a deterministic synthetic corpus.
//!
//! Corpus: 1,000 brands (1–3 aliases and a domain each; some multi-word names, a few
//! non-ASCII ones) and ≥ 10 MiB of markdown answers (numbered and bulleted lists, bold
//! names, possessives, domains, paragraphs), generated from a fixed ChaCha seed.
//!
//! The baseline runs 1,000 regexes over every byte, so it is measured on a 1 MiB prefix
//! of the corpus and reported per byte; the dictionary extractor runs on the whole corpus.
//! A one-shot pre-pass prints both throughputs and their ratio before criterion's groups.
//!
//! Run: `cargo bench -p echo-benches --bench extraction`.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use echo_core::analysis::{BrandCatalog, DictionaryExtractor, Extractor};
use echo_core::model::BrandSpec;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regex::Regex;

const SEED: u64 = 0x00EC_4000_2025;
const BRANDS: usize = 1_000;
const CORPUS_BYTES: usize = 10 * 1024 * 1024;
const BASELINE_BYTES: usize = 1024 * 1024;

const SYLLABLES: &[&str] = &[
    "zen", "tri", "nor", "va", "lix", "cor", "ta", "mo", "ra", "quin", "dex", "sol", "vio", "bri", "ka", "lum", "tor",
    "nex", "pa", "ri", "sen", "zo", "fy", "ly", "ex", "on", "ia", "vel", "dra", "mar", "qua", "xo", "bel", "gri",
];
const NON_ASCII_SYLLABLES: &[&str] = &["sør", "bré", "zoë", "mü", "ång", "çe"];
const SUFFIXES: &[&str] = &[
    "Cloud",
    "Analytics",
    "Labs",
    "Systems",
    "Software",
    "Health",
    "Pay",
    "AI",
    "Works",
    "Desk",
];
const PRODUCTS: &[&str] = &["CRM", "Suite", "Platform", "One", "Pro", "Hub"];
const FILLER: &[&str] = &[
    "is a strong choice for small teams that want a simple pipeline and honest pricing.",
    "offers automation, reporting and integrations with the tools you already use.",
    "has a generous free tier, though advanced features sit behind the paid plans.",
    "shines for sales teams that live in their inbox and need reliable email tracking.",
    "is popular with startups because onboarding takes minutes rather than weeks.",
    "gets good reviews for customer support, but the mobile app lags behind.",
    "focuses on enterprise compliance, with audit logs and granular permissions.",
    "integrates natively with accounting software and e-commerce storefronts.",
];
const INTROS: &[&str] = &[
    "Choosing the right tool depends on your team size, budget and workflow. These are most often recommended:",
    "There is no single best answer, but several products stand out for a 10-person startup:",
    "Based on reviews, pricing and ease of use, these are strong candidates:",
];
const OUTROS: &[&str] = &[
    "In short, start with a free trial and check how well each option fits your process before you commit.",
    "Whichever you pick, make sure it integrates with your email and calendar, and that it can grow with you.",
    "Pricing changes often, so confirm current plans on each vendor's website.",
];

/// A synthetic brand with every surface form the corpus may use.
struct Synth {
    spec: BrandSpec,
    forms: Vec<String>,
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn brand_name(rng: &mut ChaCha8Rng) -> String {
    let n = rng.random_range(2..=3);
    let mut word = String::new();
    for i in 0..n {
        let pool = if i == 1 && rng.random_bool(0.03) {
            NON_ASCII_SYLLABLES
        } else {
            SYLLABLES
        };
        word.push_str(pool.choose(rng).expect("non-empty"));
    }
    let mut name = capitalize(&word);
    if rng.random_bool(0.3) {
        name.push(' ');
        name.push_str(SUFFIXES.choose(rng).expect("non-empty"));
    }
    name
}

fn catalog(rng: &mut ChaCha8Rng) -> Vec<Synth> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(BRANDS);
    while out.len() < BRANDS {
        let name = brand_name(rng);
        if !taken.insert(name.to_lowercase()) {
            continue;
        }
        let stem: String = name.split(' ').next().unwrap_or(&name).to_string();
        let ascii_stem: String = stem
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let mut aliases = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            let alias = match rng.random_range(0..3) {
                0 => format!("{stem} {}", PRODUCTS.choose(rng).expect("non-empty")),
                1 => format!("{stem}HQ"),
                _ => format!("{} {}", name, PRODUCTS.choose(rng).expect("non-empty")),
            };
            if alias.to_lowercase() != name.to_lowercase() && taken.insert(alias.to_lowercase()) {
                aliases.push(alias);
            }
        }
        let domain = format!(
            "{ascii_stem}{}.{}",
            out.len(),
            if rng.random_bool(0.7) { "com" } else { "io" }
        );
        taken.insert(domain.clone());
        let mut forms = vec![name.clone()];
        forms.extend(aliases.iter().cloned());
        forms.push(domain.clone());
        let spec = if out.is_empty() {
            BrandSpec::target(name)
        } else {
            BrandSpec::new(name)
        };
        out.push(Synth {
            spec: spec.aliases(aliases).domains([domain]),
            forms,
        });
    }
    out
}

/// One answer in the shape LLMs give to "best X for Y" questions.
fn answer(rng: &mut ChaCha8Rng, brands: &[Synth]) -> String {
    let mut s = String::with_capacity(3000);
    s.push_str(INTROS.choose(rng).expect("non-empty"));
    s.push_str("\n\n");
    let items = rng.random_range(3..=8);
    for i in 1..=items {
        let b = brands.choose(rng).expect("non-empty");
        let form = b.forms.choose(rng).expect("non-empty");
        if rng.random_bool(0.7) {
            s.push_str(&format!("{i}. **{form}** – "));
        } else {
            s.push_str(&format!("- **{form}**: "));
        }
        s.push_str(FILLER.choose(rng).expect("non-empty"));
        if rng.random_bool(0.3) {
            let domain = b.forms.last().expect("domain");
            s.push_str(&format!(" See {domain} for details."));
        }
        s.push('\n');
        if rng.random_bool(0.4) {
            let other = brands.choose(rng).expect("non-empty");
            s.push_str(&format!("   - Compared with {}’s offering, ", other.spec.name));
            s.push_str(FILLER.choose(rng).expect("non-empty"));
            s.push('\n');
        }
    }
    s.push('\n');
    for _ in 0..rng.random_range(2..=4) {
        let b = brands.choose(rng).expect("non-empty");
        s.push_str(&format!("{}'s approach ", b.spec.name));
        s.push_str(FILLER.choose(rng).expect("non-empty"));
        s.push(' ');
        s.push_str(FILLER.choose(rng).expect("non-empty"));
        s.push_str("\n\n");
    }
    s.push_str(OUTROS.choose(rng).expect("non-empty"));
    s.push('\n');
    s
}

struct Fixture {
    extractor: DictionaryExtractor,
    regexes: Vec<Regex>,
    answers: Vec<String>,
    /// How many leading answers make up the baseline's subset.
    baseline_answers: usize,
}

impl Fixture {
    fn new() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(SEED);
        let brands = catalog(&mut rng);
        let regexes = brands
            .iter()
            .map(|b| {
                let alts: Vec<String> = b.forms.iter().map(|f| regex::escape(f)).collect();
                Regex::new(&format!(r"(?i)\b(?:{})\b", alts.join("|"))).expect("valid regex")
            })
            .collect();
        let catalog = BrandCatalog::new(brands.into_iter().map(|b| b.spec).collect::<Vec<_>>())
            .expect("the synthetic catalog is valid");
        let extractor = DictionaryExtractor::new(catalog).expect("compiles");
        let mut rng = ChaCha8Rng::seed_from_u64(SEED + 1);
        let brands_for_text = extractor_forms(&extractor);
        let mut answers = Vec::new();
        let mut total = 0;
        while total < CORPUS_BYTES {
            let a = answer(&mut rng, &brands_for_text);
            total += a.len();
            answers.push(a);
        }
        let mut subset = 0;
        let baseline_answers = answers.iter().take_while(|a| {
            subset += a.len();
            subset <= BASELINE_BYTES
        });
        let baseline_answers = baseline_answers.count();
        Self {
            extractor,
            regexes,
            answers,
            baseline_answers,
        }
    }

    fn bytes(answers: &[String]) -> usize {
        answers.iter().map(String::len).sum()
    }

    fn dictionary(&self, answers: &[String]) -> u64 {
        answers
            .iter()
            .map(|a| {
                self.extractor
                    .extract(a)
                    .iter()
                    .map(|m| u64::from(m.count))
                    .sum::<u64>()
            })
            .sum()
    }

    fn baseline(&self, answers: &[String]) -> u64 {
        answers
            .iter()
            .map(|a| {
                self.regexes
                    .iter()
                    .map(|re| re.find_iter(a).count() as u64)
                    .sum::<u64>()
            })
            .sum()
    }
}

/// Rebuilds the synthetic brands' surface forms from the compiled catalog (same forms the
/// regexes use), so the text generator and both matchers agree on what a brand is.
fn extractor_forms(x: &DictionaryExtractor) -> Vec<Synth> {
    x.catalog()
        .brands()
        .iter()
        .map(|b| {
            let mut forms = vec![b.name.clone()];
            forms.extend(b.aliases.iter().cloned());
            forms.extend(b.domains.iter().cloned());
            Synth { spec: b.clone(), forms }
        })
        .collect()
}

/// Best of `runs` wall-clock timings of `f`, in seconds.
fn best_of(runs: usize, mut f: impl FnMut() -> u64) -> (f64, u64) {
    let mut best = f64::INFINITY;
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        found = black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, found)
}

fn mb_per_s(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / secs
}

fn bench(c: &mut Criterion) {
    let fx = Fixture::new();
    let all = &fx.answers[..];
    let subset = &fx.answers[..fx.baseline_answers];
    let (all_bytes, subset_bytes) = (Fixture::bytes(all), Fixture::bytes(subset));

    // One-shot pre-pass, so the headline figures appear in the output. The ratio compares
    // both matchers on the same bytes (the 1 MiB subset), best of several runs each.
    let (dict_all_s, dict_all_found) = best_of(3, || fx.dictionary(all));
    let (dict_sub_s, dict_sub_found) = best_of(5, || fx.dictionary(subset));
    let (base_sub_s, base_sub_found) = best_of(2, || fx.baseline(subset));
    let dict_all = mb_per_s(all_bytes, dict_all_s);
    let dict_sub = mb_per_s(subset_bytes, dict_sub_s);
    let base = mb_per_s(subset_bytes, base_sub_s);
    println!(
        "extraction corpus: {} answers, {:.1} MiB, {} brands, {} automaton patterns; \
         baseline subset: {} answers, {:.2} MiB",
        all.len(),
        all_bytes as f64 / 1048576.0,
        fx.extractor.catalog().len(),
        fx.extractor.pattern_count(),
        subset.len(),
        subset_bytes as f64 / 1048576.0,
    );
    println!(
        "extraction occurrences on the subset: dictionary {dict_sub_found}, regex baseline {base_sub_found} \
         (the regexes have no case rules and count overlapping brands); \
         dictionary on the full corpus: {dict_all_found}"
    );
    println!(
        "extraction summary (MiB/s): dictionary {dict_all:.1} on the full {:.1} MiB, \
         {dict_sub:.1} on the 1 MiB subset | \
         regex-per-brand baseline {base:.3} on the 1 MiB subset (too slow for 10 MiB; per-byte rate) | \
         ratio on the same bytes {:.0}x",
        all_bytes as f64 / 1048576.0,
        dict_sub / base,
    );

    let mut g = c.benchmark_group("extraction");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(all_bytes as u64));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("dictionary_full_corpus", |b| b.iter(|| fx.dictionary(black_box(all))));
    g.throughput(Throughput::Bytes(subset_bytes as u64));
    g.bench_function("dictionary_1mib_subset", |b| {
        b.iter(|| fx.dictionary(black_box(subset)))
    });
    // Each iteration of the baseline takes about `base_sub_s`; give criterion room for 10.
    g.measurement_time(Duration::from_secs_f64((base_sub_s * 12.0).max(5.0)));
    g.bench_function("regex_per_brand_1mib_subset", |b| {
        b.iter(|| fx.baseline(black_box(subset)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
