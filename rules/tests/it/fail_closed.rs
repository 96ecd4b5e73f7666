//! Fail closed: an annotation whose text the rules do not recognise never lets an ALLOW
//! through. Texts are generated (seeded, so a failure is reproducible) in English, French,
//! Spanish and in no language, alone or beside sentences the rules do read, on an Appendix II
//! and an Appendix III listing whose application is otherwise ALLOWed.

use domain::Appendix;
use rules::{Facts, RiskConfig, Verdict};

use crate::support::{build, c, set_appendix};

/// Texts generated per listing.
const TEXTS: usize = 1_500;

/// A small deterministic generator (SplitMix64): no dependency, the same texts on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// Words of restrictions the rules have no pattern for, by language.
struct Vocabulary {
    openings: &'static [&'static str],
    verbs: &'static [&'static str],
    objects: &'static [&'static str],
    /// An "exclusive purpose" clause whose items name no specimen type the rules know.
    exclusive: &'static str,
}

const LANGUAGES: &[Vocabulary] = &[
    Vocabulary {
        openings: &[
            "Trade in",
            "Exports of",
            "Only shipments of",
            "No specimen of",
            "Permits for",
        ],
        verbs: &[
            "is limited to",
            "requires",
            "must carry",
            "shall be restricted to",
            "is subject to",
        ],
        objects: &[
            "tagged feathers",
            "the approval of the Standing Committee",
            "a ranching certificate",
            "registered farms",
            "marked eggs from approved nests",
        ],
        exclusive: "For the exclusive purpose of allowing international trade in a) feathers from moulting; b) eggshells for research. All other specimens shall be deemed to be specimens of species included in Appendix I.",
    },
    Vocabulary {
        openings: &[
            "Le commerce des",
            "Les exportations de",
            "Seuls les envois de",
            "Aucun spécimen de",
            "Les permis pour",
        ],
        verbs: &[
            "est limité aux",
            "exige",
            "doivent porter",
            "sont réservés aux",
            "est soumis à",
        ],
        objects: &[
            "plumes marquées",
            "l'accord du Comité permanent",
            "un certificat d'élevage",
            "fermes enregistrées",
            "œufs marqués",
        ],
        exclusive: "À seule fin de permettre: a) le commerce de plumes de mue; b) le commerce de coquilles d'œufs pour la recherche. Tous les autres spécimens sont considérés comme des spécimens d'espèces inscrites à l'Annexe I.",
    },
    Vocabulary {
        openings: &[
            "El comercio de",
            "Las exportaciones de",
            "Solo los envíos de",
            "Ningún espécimen de",
            "Los permisos para",
        ],
        verbs: &[
            "se limita a",
            "requiere",
            "deben llevar",
            "se reservan a",
            "está sujeto a",
        ],
        objects: &[
            "plumas marcadas",
            "la aprobación del Comité Permanente",
            "un certificado de cría",
            "granjas registradas",
            "huevos marcados",
        ],
        exclusive: "Con el exclusivo propósito de permitir el comercio internacional de: a) plumas de muda; b) cáscaras de huevo para investigación. Todos los demás especímenes se considerarán especímenes de especies incluidas en el Apéndice I.",
    },
    Vocabulary {
        openings: &["Zqvart", "Lorem ipsum", "Mbwa kali", "Xtl-7"],
        verbs: &["qorvath", "dolor sit", "ndani ya", "::"],
        objects: &["plex 44", "amet consectetur", "nyumba", "ß∂ƒ"],
        exclusive: "Exclusivum propositum: a) plumae; b) ova. Omnia alia.",
    },
];

/// Sentences the rules do read (notes on names, populations, exceptions), which must not
/// mask an unread one beside them.
const READ: &[&str] = &[
    "Formerly listed as Python regius regius.",
    "Except the species included in Appendix I.",
    "Includes Python sebae natalensis.",
    "Sauf les populations de l'Afrique du Sud, qui sont inscrites à l'Annexe I.",
    "[FAMILY listing Pythonidae spp.]",
];

fn text(g: &mut Gen) -> String {
    let lang = &LANGUAGES[(g.next() % LANGUAGES.len() as u64) as usize];
    let unread = if g.next().is_multiple_of(5) {
        lang.exclusive.to_owned()
    } else {
        format!(
            "{} {} {}.",
            g.pick(lang.openings),
            g.pick(lang.verbs),
            g.pick(lang.objects)
        )
    };
    let mut parts = vec![unread];
    for _ in 0..g.next() % 3 {
        parts.push(g.pick(READ).to_owned());
    }
    // The unread sentence anywhere among them.
    let len = parts.len() as u64;
    parts.rotate_left((g.next() % len) as usize);
    parts.join(" ")
}

fn annotate(facts: &mut Facts, text: &str) {
    for listing in [&mut facts.listing_at_trade, &mut facts.listing_at_issue] {
        for row in &mut listing.deciding {
            row.annotation = Some(text.to_owned());
        }
    }
}

#[test]
fn annotation_texts_the_rules_do_not_recognise_never_give_an_allow() {
    for (appendix, seed) in [(Appendix::II, 1_u64), (Appendix::III, 2)] {
        let (application, mut base) = build(|_| {}, |_| {});
        set_appendix(&mut base, appendix);
        if appendix == Appendix::III {
            // Listed by the exporting Party, so no certificate of origin is needed.
            for listing in [&mut base.listing_at_trade, &mut base.listing_at_issue] {
                listing.app_iii_parties = vec![c("TG")];
                for row in &mut listing.deciding {
                    row.party = Some(c("TG"));
                }
            }
        }
        let plain = rules::check(&application, &base, &RiskConfig::default());
        assert_eq!(
            plain.decision,
            Verdict::Allow,
            "the property needs an application ALLOWed without the annotation: {plain:?}"
        );
        let mut g = Gen(seed);
        for _ in 0..TEXTS {
            let text = text(&mut g);
            let mut facts = base.clone();
            annotate(&mut facts, &text);
            let decision = rules::check(&application, &facts, &RiskConfig::default());
            assert_ne!(
                decision.decision,
                Verdict::Allow,
                "Appendix {appendix}: ALLOWed under an unread annotation {text:?}"
            );
            let quoted = decision.reasons.iter().any(|r| {
                r.message.contains('"') && r.code == rules::ReasonCode::AnnotationNeedsReview
            });
            assert!(
                quoted,
                "the review does not quote the text {text:?}: {decision:?}"
            );
        }
    }
}

#[test]
fn reservation_texts_the_rules_do_not_recognise_never_give_an_allow() {
    let (application, base) = build(|_| {}, |_| {});
    let mut g = Gen(3);
    for i in 0..TEXTS {
        let text = text(&mut g);
        let mut facts = base.clone();
        let appendix = match facts.listing_at_trade.status {
            rules::ListingStatus::Listed { appendix } => appendix,
            _ => unreachable!("the base application is listed"),
        };
        // Held by the exporter on one run, by the importer on the next.
        let party = if i % 2 == 0 {
            application.exporter()
        } else {
            application.importer()
        };
        facts.listing_at_trade.reservations = vec![rules::ReservationFact {
            listing_id: 900,
            party,
            appendix,
            effective_at: facts.listing_at_trade.date,
            annotation: Some(text.clone()),
        }];
        let decision = rules::check(&application, &facts, &RiskConfig::default());
        assert_ne!(
            decision.decision,
            Verdict::Allow,
            "ALLOWed beside a reservation {text:?}"
        );
        assert!(
            decision.reasons.iter().any(|r| {
                r.code == rules::ReasonCode::ReservationOrNonParty && r.message.contains(&text)
            }),
            "the review does not quote the reservation {text:?}: {decision:?}"
        );
    }
}
