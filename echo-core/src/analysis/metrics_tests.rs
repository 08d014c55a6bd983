//! Metrics against hand-computed values.
//!
//! The fabricated run: brands Acme (target), Beta, Gamma; targets T1 = sim/a, T2 = sim/b;
//! prompts p0, p1. Samples (mentions as brand(rank, count, list index)):
//!
//! | sample | cell   | status    | mentions                                       | citations               |
//! |--------|--------|-----------|------------------------------------------------|-------------------------|
//! | r1     | T1, p0 | succeeded | Acme(1, 2, 1), Beta(2, 1, 2)                   | acme.com, x.org         |
//! | r2     | T1, p0 | succeeded | Beta(1, 3, -)                                  | x.org, x.org            |
//! | r3     | T1, p0 | failed    |                                                |                         |
//! | r4     | T1, p1 | succeeded | none                                           |                         |
//! | r5     | T2, p0 | succeeded | Unknown(1,5,1) Gamma(2,1,1) Acme(3,1,-) Beta(4,1,3) | www.acme.com (URL), b.net |
//! | r6     | T2, p1 | pending   |                                                |                         |
//!
//! "Unknown" is not in the catalog: it is ignored and r5's ranks become Gamma 1, Acme 2, Beta 3.
//!
//! Costs: answered samples of prompt p0 (r1, r2, r5) cost $0.001 each; r4 has no price.

use chrono::{TimeZone, Utc};

use super::*;
use crate::model::{
    AccountId, BrandSpec, Citation, ExperimentId, ExperimentSpec, Interval, Proportion, RunId, RunStatus, Sample,
    SampleId,
};

const EPS: f64 = 1e-9;

fn mention(brand: &str, rank: u32, count: u32, list_index: Option<u32>) -> Mention {
    Mention {
        brand: brand.into(),
        offset: rank * 10,
        len: 4,
        count,
        rank,
        list_index,
    }
}

fn record(
    target: &Target,
    prompt_index: u32,
    status: SampleStatus,
    mentions: Vec<Mention>,
    cites: &[&str],
) -> SampleRecord {
    let citations = cites
        .iter()
        .map(|c| match c.strip_prefix("url:") {
            Some(url) => Citation {
                url: url.into(),
                domain: String::new(),
                title: None,
                cited_text: None,
            },
            None => Citation::from_url(format!("https://{c}/page"), None),
        })
        .collect();
    SampleRecord {
        sample: Sample {
            id: SampleId::new(),
            run_id: RunId::new(),
            target: target.clone(),
            prompt_index,
            repeat_index: 0,
            status,
            attempt: 1,
            raw_answer: None,
            answer_sha256: None,
            served_model: None,
            request_id: None,
            finish_reason: None,
            input_tokens: None,
            output_tokens: None,
            latency_ms: None,
            cost_usd: (status == SampleStatus::Succeeded && prompt_index == 0).then_some(0.001),
            error_class: None,
            error_message: None,
            completed_at: None,
            anonymized_at: None,
            redactions: None,
        },
        mentions,
        citations,
    }
}

fn fixture() -> Report {
    let (run, counts, records, catalog, now) = fixture_parts();
    let report = build_report(&run, counts, &records, &catalog, now);
    assert_eq!(report.run_id, run.id);
    assert_eq!(report.generated_at, now);
    assert_eq!(report.counts, counts);
    report
}

fn fixture_parts() -> (
    Run,
    SampleCounts,
    Vec<SampleRecord>,
    BrandCatalog,
    chrono::DateTime<Utc>,
) {
    let t1 = Target::new("sim", "a");
    let t2 = Target::new("sim", "b");
    let brands = vec![
        BrandSpec::target("Acme"),
        BrandSpec::new("Beta"),
        BrandSpec::new("Gamma"),
    ];
    let catalog = BrandCatalog::new(brands.clone()).expect("catalog");
    let spec = ExperimentSpec {
        name: "crm study".into(),
        prompts: vec!["p0".into(), "p1".into()],
        brands,
        targets: vec![t1.clone(), t2.clone()],
        repeats: 3,
        system_prompt: None,
        temperature: None,
        max_output_tokens: None,
        web_search: false,
    };
    let now = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().expect("valid time");
    let run = Run {
        id: RunId::new(),
        account_id: AccountId::new(),
        experiment_id: ExperimentId::new(),
        spec,
        status: RunStatus::Partial,
        planned_samples: 6,
        seed: 7,
        created_at: now,
        started_at: None,
        finished_at: None,
        adaptive: None,
        correlation_id: None,
    };
    use SampleStatus::*;
    let records = vec![
        record(
            &t1,
            0,
            Succeeded,
            vec![mention("Acme", 1, 2, Some(1)), mention("Beta", 2, 1, Some(2))],
            &["acme.com", "x.org"],
        ),
        record(
            &t1,
            0,
            Succeeded,
            vec![mention("Beta", 1, 3, None)],
            &["x.org", "x.org"],
        ),
        record(&t1, 0, Failed, vec![], &[]),
        record(&t1, 1, Succeeded, vec![], &[]),
        record(
            &t2,
            0,
            Succeeded,
            vec![
                mention("Unknown", 1, 5, Some(1)),
                mention("Gamma", 2, 1, Some(1)),
                mention("Acme", 3, 1, None),
                mention("Beta", 4, 1, Some(3)),
            ],
            &["url:https://www.acme.com/p", "b.net"],
        ),
        record(&t2, 1, Pending, vec![], &[]),
        // A sample of a target outside the spec is skipped.
        record(
            &Target::new("sim", "zzz"),
            0,
            Succeeded,
            vec![mention("Acme", 1, 9, None)],
            &[],
        ),
    ];
    let counts = SampleCounts {
        pending: 1,
        leased: 0,
        succeeded: 4,
        failed: 1,
        cancelled: 0,
    };
    (run, counts, records, catalog, now)
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < EPS
}

fn assert_prop(p: &Proportion, successes: u64, trials: u64) {
    assert_eq!((p.successes, p.trials), (successes, trials));
    let expected = if trials == 0 {
        0.0
    } else {
        successes as f64 / trials as f64
    };
    assert!(approx(p.estimate, expected), "{p:?}");
    assert_eq!(p.interval, super::super::wilson_interval(successes, trials));
}

#[test]
fn report_shape() {
    let r = fixture();
    assert_eq!(r.experiment_name, "crm study");
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!(r.prompts, vec!["p0", "p1"]);
    let cells: Vec<_> = r
        .cells
        .iter()
        .map(|c| (c.target.as_ref().map(|t| t.model.as_str()), c.prompt_index))
        .collect();
    assert_eq!(
        cells,
        vec![
            (Some("a"), Some(0)),
            (Some("a"), Some(1)),
            (Some("b"), Some(0)),
            (Some("b"), Some(1))
        ]
    );
    assert_eq!(r.by_target.len(), 2);
    assert_eq!(r.by_target[1].prompt_index, None);
    assert_eq!((r.overall.target.as_ref(), r.overall.prompt_index), (None, None));
    let names: Vec<_> = r.overall.brands.iter().map(|b| b.brand.as_str()).collect();
    assert_eq!(names, vec!["Acme", "Beta", "Gamma"], "catalog order");
    assert_eq!(
        r.overall.brand("Acme").map(|b| b.role),
        Some(crate::model::BrandRole::Target)
    );
    assert_eq!(
        r.overall.brand("Beta").map(|b| b.role),
        Some(crate::model::BrandRole::Competitor)
    );
}

#[test]
fn cell_t1_p0() {
    let r = fixture();
    let c = &r.cells[0];
    // r1, r2 answered; r3 failed.
    assert_eq!((c.answered, c.failed), (2, 1));
    // Occurrences: Acme 2 + Beta 1 (r1) + Beta 3 (r2) = 6; both answers name a brand.
    let acme = c.brand("Acme").expect("acme");
    assert_prop(&acme.visibility, 1, 2);
    assert_eq!(acme.mentions, 2);
    assert!(approx(acme.share_of_voice_mentions, 2.0 / 6.0));
    assert!(approx(acme.share_of_voice_answers, 1.0 / 2.0));
    assert_eq!(acme.mean_rank, Some(1.0));
    assert_prop(&acme.top1, 1, 2);
    assert_prop(&acme.top3, 1, 2);
    assert_eq!(acme.mean_list_position, Some(1.0));

    let beta = c.brand("Beta").expect("beta");
    assert_prop(&beta.visibility, 2, 2);
    assert_eq!(beta.mentions, 4);
    assert!(approx(beta.share_of_voice_mentions, 4.0 / 6.0));
    assert!(approx(beta.share_of_voice_answers, 1.0));
    assert_eq!(beta.mean_rank, Some(1.5)); // (2 + 1) / 2
    assert_prop(&beta.top1, 1, 2);
    assert_prop(&beta.top3, 2, 2);
    assert_eq!(beta.mean_list_position, Some(2.0), "r2's mention is not in a list");

    let gamma = c.brand("Gamma").expect("gamma");
    assert_prop(&gamma.visibility, 0, 2);
    assert_eq!(
        (gamma.mentions, gamma.mean_rank, gamma.mean_list_position),
        (0, None, None)
    );
    assert_eq!(
        (gamma.share_of_voice_mentions, gamma.share_of_voice_answers),
        (0.0, 0.0)
    );

    // Citations: x.org 3 (in 2 answers), acme.com 1; total 4.
    let cites: Vec<_> = c
        .citations
        .iter()
        .map(|d| (d.domain.as_str(), d.citations, d.answers))
        .collect();
    assert_eq!(cites, vec![("x.org", 3, 2), ("acme.com", 1, 1)]);
    assert!(approx(c.citations[0].share, 0.75) && approx(c.citations[1].share, 0.25));
}

#[test]
fn empty_cells() {
    let r = fixture();
    // T1/p1: one answer naming nobody: shares are 0, means undefined.
    let c = &r.cells[1];
    assert_eq!((c.answered, c.failed), (1, 0));
    for b in &c.brands {
        assert_prop(&b.visibility, 0, 1);
        assert_eq!(
            (b.share_of_voice_mentions, b.share_of_voice_answers, b.mean_rank),
            (0.0, 0.0, None)
        );
    }
    assert!(c.citations.is_empty());
    // T2/p1: only a pending sample: no answers, uninformative intervals.
    let c = &r.cells[3];
    assert_eq!((c.answered, c.failed), (0, 0));
    let acme = c.brand("Acme").expect("acme");
    assert_prop(&acme.visibility, 0, 0);
    assert_eq!(acme.visibility.interval, Interval { lower: 0.0, upper: 1.0 });
}

#[test]
fn unknown_brands_are_ignored_and_ranks_recomputed() {
    let r = fixture();
    let c = &r.cells[2];
    assert_eq!(c.answered, 1);
    // Occurrences among catalog brands: 1 + 1 + 1 = 3 (Unknown's 5 excluded).
    for (name, rank) in [("Gamma", 1.0), ("Acme", 2.0), ("Beta", 3.0)] {
        let b = c.brand(name).expect("brand");
        assert_eq!(b.mean_rank, Some(rank), "{name}");
        assert!(approx(b.share_of_voice_mentions, 1.0 / 3.0));
        assert!(approx(b.share_of_voice_answers, 1.0));
    }
    assert_prop(&c.brand("Gamma").expect("gamma").top1, 1, 1);
    assert_prop(&c.brand("Acme").expect("acme").top1, 0, 1);
    assert_prop(&c.brand("Beta").expect("beta").top3, 1, 1);
    // Ties in citation counts sort by domain; a citation without a domain gets it from its URL.
    let cites: Vec<_> = c.citations.iter().map(|d| (d.domain.as_str(), d.citations)).collect();
    assert_eq!(cites, vec![("acme.com", 1), ("b.net", 1)]);
}

#[test]
fn by_target_pools_prompts() {
    let r = fixture();
    let t1 = &r.by_target[0];
    assert_eq!((t1.answered, t1.failed), (3, 1));
    assert_prop(&t1.brand("Acme").expect("acme").visibility, 1, 3);
    assert_prop(&t1.brand("Beta").expect("beta").visibility, 2, 3);
    // Occurrences and naming answers come only from p0, so shares equal the p0 cell's.
    assert!(approx(
        t1.brand("Beta").expect("beta").share_of_voice_mentions,
        4.0 / 6.0
    ));
    assert_prop(&t1.brand("Beta").expect("beta").top3, 2, 3);
    let t2 = r.target(&Target::new("sim", "b")).expect("t2");
    assert_eq!((t2.answered, t2.failed), (1, 0));
}

#[test]
fn overall_pools_everything() {
    let r = fixture();
    let o = &r.overall;
    // Answered: r1, r2, r4, r5 = 4; failed: r3. Naming any: r1, r2, r5 = 3. Occurrences 6 + 3 = 9.
    assert_eq!((o.answered, o.failed), (4, 1));

    let acme = o.brand("Acme").expect("acme");
    assert_prop(&acme.visibility, 2, 4);
    // Wilson 2/4: centre 0.5, half = 1.959964·√(0.0625 + 0.060024)/1.960365 = 0.349960.
    assert!(
        (acme.visibility.interval.lower - 0.150040).abs() < 1e-5,
        "{:?}",
        acme.visibility
    );
    assert!((acme.visibility.interval.upper - 0.849960).abs() < 1e-5);
    assert_eq!(acme.mentions, 3);
    assert!(approx(acme.share_of_voice_mentions, 3.0 / 9.0));
    assert!(approx(acme.share_of_voice_answers, 2.0 / 3.0));
    assert_eq!(acme.mean_rank, Some(1.5)); // ranks 1 (r1) and 2 (r5)
    assert_prop(&acme.top1, 1, 4);
    assert_prop(&acme.top3, 2, 4);
    assert_eq!(acme.mean_list_position, Some(1.0)); // r1 in item 1, r5 not in a list

    let beta = o.brand("Beta").expect("beta");
    assert_prop(&beta.visibility, 3, 4);
    assert_eq!(beta.mentions, 5);
    assert!(approx(beta.share_of_voice_mentions, 5.0 / 9.0));
    assert!(approx(beta.share_of_voice_answers, 1.0));
    assert_eq!(beta.mean_rank, Some(2.0)); // (2 + 1 + 3) / 3
    assert_prop(&beta.top1, 1, 4);
    assert_prop(&beta.top3, 3, 4);
    assert_eq!(beta.mean_list_position, Some(2.5)); // items 2 and 3

    let gamma = o.brand("Gamma").expect("gamma");
    assert_prop(&gamma.visibility, 1, 4);
    assert!(approx(gamma.share_of_voice_mentions, 1.0 / 9.0));
    assert!(approx(gamma.share_of_voice_answers, 1.0 / 3.0));
    assert_eq!(gamma.mean_rank, Some(1.0));

    // Shares of mentions add up to 1 over the catalog.
    let total: f64 = o.brands.iter().map(|b| b.share_of_voice_mentions).sum();
    assert!(approx(total, 1.0));

    // Citations: x.org 3 (2 answers), acme.com 2 (2 answers), b.net 1; total 6.
    let cites: Vec<_> = o
        .citations
        .iter()
        .map(|d| (d.domain.as_str(), d.citations, d.answers))
        .collect();
    assert_eq!(cites, vec![("x.org", 3, 2), ("acme.com", 2, 2), ("b.net", 1, 1)]);
    assert!(approx(o.citations[0].share, 0.5));
    assert!(approx(o.citations[1].share, 2.0 / 6.0));
}

#[test]
fn costs_add_up_and_unpriced_answers_are_counted_apart() {
    let report = fixture();
    let t1 = report
        .by_target
        .iter()
        .find(|g| g.target == Some(Target::new("sim", "a")))
        .unwrap();
    assert!(approx(t1.cost.total_usd, 0.002));
    assert_eq!((t1.cost.priced_samples, t1.cost.unpriced_samples), (2, 1));
    assert!(approx(report.overall.cost.total_usd, 0.003));
    assert_eq!(
        (report.overall.cost.priced_samples, report.overall.cost.unpriced_samples),
        (3, 1)
    );
}

#[test]
fn clustered_intervals_on_multi_prompt_rollups_only() {
    let r = fixture();
    assert!(
        r.cells
            .iter()
            .flat_map(|c| &c.brands)
            .all(|b| b.visibility_clustered.is_none())
    );
    // T1: Acme in 1 of 2 answers to p0 and 0 of 1 to p1.
    let t1 = &r.by_target[0];
    assert_eq!(
        t1.brand("Acme").unwrap().visibility_clustered,
        super::super::clustered_interval(&[(1, 2), (0, 1)])
    );
    assert!(t1.brand("Acme").unwrap().visibility_clustered.is_some());
    // T2 has answers to p0 only: one cluster, nothing to estimate between-prompt variation from.
    assert!(r.by_target[1].brands.iter().all(|b| b.visibility_clustered.is_none()));
    // Overall clusters by prompt across targets: p0 = 2 of 3 answers (T1 1/2, T2 1/1), p1 = 0 of 1.
    assert_eq!(
        r.overall.brand("Acme").unwrap().visibility_clustered,
        super::super::clustered_interval(&[(2, 3), (0, 1)])
    );
}

#[test]
fn rank_distributions_by_hand_and_consistent_with_the_report() {
    let (run, _, records, catalog, _) = fixture_parts();
    let report = fixture();
    // Overall (4 answers): Acme 1st in r1, 2nd in r5 (Unknown dropped); Beta 2nd, 1st, 3rd;
    // Gamma 1st in r5.
    let all = super::super::rank_distributions(&run, &records, &catalog, None, None);
    let at: Vec<(&str, u64, &[u64])> = all
        .iter()
        .map(|d| (d.brand.as_str(), d.answered, d.at_rank.as_slice()))
        .collect();
    assert_eq!(
        at,
        vec![
            ("Acme", 4, &[1, 1][..]),
            ("Beta", 4, &[1, 1, 1][..]),
            ("Gamma", 4, &[1][..])
        ]
    );
    assert_prop(&all[0].top_k(2), 2, 4);
    assert_prop(&all[1].top_k(2), 2, 4);
    assert_prop(&all[1].top_k(10), 3, 4);
    assert_prop(&all[2].top_k(0), 0, 4);
    // top_k(1) and top_k(3) are the report's top1 and top3, in every group.
    let groups = std::iter::once(&report.overall)
        .chain(&report.by_target)
        .chain(&report.cells);
    for g in groups {
        let dists = super::super::rank_distributions(&run, &records, &catalog, g.target.as_ref(), g.prompt_index);
        for (d, b) in dists.iter().zip(&g.brands) {
            assert_eq!(d.answered, g.answered);
            assert_eq!(d.top_k(1), b.top1, "{:?} {:?} {}", g.target, g.prompt_index, b.brand);
            assert_eq!(d.top_k(3), b.top3);
        }
    }
}
