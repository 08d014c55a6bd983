//! Text of simulated answers.
//!
//! Answers are assembled from the neutral [`Vocabulary`] around the brands an answer names,
//! in shapes real assistants use (numbered and bulleted markdown lists, headed sections,
//! prose), with the surface variety an extractor must cope with: bold names, aliases,
//! possessives, domains, repeated mentions. The only brand text ever written is the chosen
//! brands' own forms, and first mentions follow the planned order, so the rank an
//! extractor sees is the rank that was sampled.

use rand::Rng;

use super::BrandBehavior;
use super::vocabulary::Vocabulary;

/// The layout of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Numbered,
    Bulleted,
    Headed,
    Prose,
}

/// Writes an answer naming exactly `named`, first mentions in that order.
pub(crate) fn compose<R: Rng + ?Sized>(rng: &mut R, vocab: &Vocabulary, named: &[&BrandBehavior]) -> String {
    let mut w = Writer { rng, vocab };
    if named.is_empty() {
        return w.no_brand_answer();
    }
    let shape = match w.rng.random_range(0..100) {
        0..40 => Shape::Numbered,
        40..65 => Shape::Bulleted,
        65..80 => Shape::Headed,
        _ => Shape::Prose,
    };
    let shape = if named.len() == 1 && shape != Shape::Prose && w.rng.random_bool(0.6) {
        Shape::Prose
    } else {
        shape
    };
    let mut blocks: Vec<String> = Vec::new();
    if w.rng.random_bool(0.85) {
        let pool = if shape == Shape::Prose {
            &w.vocab.intros_prose
        } else {
            &w.vocab.intros_list
        };
        blocks.push(w.pick(pool).to_string());
    }
    match shape {
        Shape::Numbered | Shape::Bulleted => {
            // Real answers often list the main picks and name the long tail in one sentence.
            let tail = if named.len() >= 4 && w.rng.random_bool(0.25) {
                w.rng.random_range(1..=2)
            } else {
                0
            };
            let (listed, rest) = named.split_at(named.len() - tail);
            let bullet = if w.rng.random_bool(0.8) { "-" } else { "*" };
            let items: Vec<String> = listed
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let marker = if shape == Shape::Numbered {
                        format!("{}.", i + 1)
                    } else {
                        bullet.to_string()
                    };
                    format!("{marker} {}", w.list_item(b))
                })
                .collect();
            blocks.push(items.join("\n"));
            if !rest.is_empty() {
                let names: Vec<String> = rest.iter().map(|b| w.mention(b, 0.3, true)).collect();
                let template = w.pick(&w.vocab.also_mentions);
                blocks.push(template.replace("{list}", &join_names(&names)));
            }
        }
        Shape::Headed => {
            blocks.push(w.pick(&w.vocab.headings_top).to_string());
            let numbered = w.rng.random_bool(0.5);
            for (i, b) in named.iter().enumerate() {
                let form = w.form(b);
                let heading = if numbered {
                    format!("### {}. {form}", i + 1)
                } else {
                    format!("### {form}")
                };
                let body = w.description(b);
                blocks.push(format!("{heading}\n\n{body}"));
            }
            blocks.push(w.pick(&w.vocab.headings_end).to_string());
        }
        Shape::Prose => {
            let mut i = 0;
            while i < named.len() {
                let take = if w.rng.random_bool(0.5) { 2 } else { 1 }.min(named.len() - i);
                let sentences: Vec<String> = named[i..i + take].iter().map(|b| w.prose_sentence(b)).collect();
                blocks.push(sentences.join(" "));
                i += take;
            }
        }
    }
    let mut closing: Vec<String> = Vec::new();
    if w.rng.random_bool(0.45) {
        closing.push(w.verdict(named));
    }
    if closing.is_empty() || w.rng.random_bool(0.5) {
        closing.push(w.pick(&w.vocab.closings).to_string());
    }
    if shape == Shape::Headed || w.rng.random_bool(0.8) {
        blocks.push(closing.join(" "));
    }
    blocks.join("\n\n")
}

struct Writer<'r, 'v, R: Rng + ?Sized> {
    rng: &'r mut R,
    vocab: &'v Vocabulary,
}

impl<R: Rng + ?Sized> Writer<'_, '_, R> {
    fn pick(&mut self, pool: &[&'static str]) -> &'static str {
        pool[self.rng.random_range(0..pool.len())]
    }

    /// Replaces `{a}`, `{f}`, `{f2}` and `{n}` with random vocabulary.
    fn fill(&mut self, template: &str) -> String {
        let mut out = template.to_string();
        if out.contains("{a}") {
            out = out.replace("{a}", self.pick(&self.vocab.audiences));
        }
        if out.contains("{f}") {
            let f = self.pick(&self.vocab.features);
            out = out.replace("{f}", f);
            if out.contains("{f2}") {
                let mut f2 = self.pick(&self.vocab.features);
                for _ in 0..4 {
                    if f2 != f {
                        break;
                    }
                    f2 = self.pick(&self.vocab.features);
                }
                out = out.replace("{f2}", f2);
            }
        }
        if out.contains("{n}") {
            out = out.replace("{n}", self.pick(&self.vocab.feature_nouns));
        }
        out
    }

    /// The name or, one time in five, an alias.
    fn form<'b>(&mut self, brand: &'b BrandBehavior) -> &'b str {
        if !brand.aliases.is_empty() && self.rng.random_bool(0.2) {
            &brand.aliases[self.rng.random_range(0..brand.aliases.len())]
        } else {
            &brand.name
        }
    }

    /// A first mention: name or alias, bold with probability `bold`, and — when the
    /// grammar allows (`allow_domain`) — sometimes followed by the brand's domain.
    fn mention(&mut self, brand: &BrandBehavior, bold: f64, allow_domain: bool) -> String {
        let form = self.form(brand);
        let mut out = if self.rng.random_bool(bold) {
            format!("**{form}**")
        } else {
            form.to_string()
        };
        if let Some(domain) = brand.domain.as_deref().filter(|_| allow_domain) {
            if self.rng.random_bool(0.12) {
                out.push(' ');
                out.push_str(&self.pick(&self.vocab.domain_wrappers).replace("{d}", domain));
            }
        }
        out
    }

    /// Description of a listed or headed brand, sometimes naming it again as a possessive.
    fn description(&mut self, brand: &BrandBehavior) -> String {
        let lead = self.pick(&self.vocab.item_leads);
        let mut out = self.fill(lead);
        if self.rng.random_bool(0.2) {
            let possessive = self.pick(&self.vocab.possessives);
            out.push(' ');
            out.push_str(&self.fill(possessive).replace("{b}", &brand.name));
        }
        if self.rng.random_bool(0.35) {
            out.push(' ');
            out.push_str(self.pick(&self.vocab.caveats));
        }
        out
    }

    fn list_item(&mut self, brand: &BrandBehavior) -> String {
        let name = self.mention(brand, 0.75, true);
        let separator = self.pick(&self.vocab.item_separators);
        let description = self.description(brand);
        format!("{name}{separator}{description}")
    }

    fn prose_sentence(&mut self, brand: &BrandBehavior) -> String {
        let template = self.pick(&self.vocab.prose_first);
        // A domain cannot sit between a name and its "'s".
        let possessive = template.contains("{b}'s");
        let name = self.mention(brand, 0.15, !possessive);
        let mut out = self.fill(template).replace("{b}", &name);
        if self.rng.random_bool(0.3) {
            out.push(' ');
            out.push_str(self.pick(&self.vocab.caveats));
        }
        out
    }

    /// A closing that names the top brand (and the second) again.
    fn verdict(&mut self, named: &[&BrandBehavior]) -> String {
        let bold = self.rng.random_bool(0.3);
        let show = |b: &BrandBehavior| {
            if bold {
                format!("**{}**", b.name)
            } else {
                b.name.clone()
            }
        };
        if named.len() >= 2 && self.rng.random_bool(0.5) {
            let template = self.pick(&self.vocab.verdicts_two);
            template
                .replace("{b2}", &show(named[1]))
                .replace("{b}", &show(named[0]))
        } else {
            let template = self.pick(&self.vocab.verdicts_one);
            template.replace("{b}", &show(named[0]))
        }
    }

    fn no_brand_answer(&mut self) -> String {
        let mut blocks = Vec::new();
        if self.rng.random_bool(0.85) {
            blocks.push(self.pick(&self.vocab.intros_prose).to_string());
        }
        let body = self.pick(&self.vocab.no_brand);
        blocks.push(self.fill(body));
        blocks.push(self.pick(&self.vocab.closings).to_string());
        blocks.join("\n\n")
    }
}

/// "A", "A and B", "A, B and C".
fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_joined_naturally() {
        let n = |v: &[&str]| join_names(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(n(&["A"]), "A");
        assert_eq!(n(&["A", "B"]), "A and B");
        assert_eq!(n(&["A", "B", "C"]), "A, B and C");
    }
}
