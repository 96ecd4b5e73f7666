//! The words of fauna annotations in the three languages Species+ serves them in (English,
//! French, Spanish: the Convention's working languages). An "exclusive purpose" annotation is
//! read with the vocabulary of the language its opening phrase is in; a text in none of them is
//! not parsed, and goes to review.

/// What an "exclusive purpose" annotation says, in one language. Every phrase is lower case,
/// with typographic apostrophes and non-breaking spaces already normalised (see [`normalise`]).
pub(crate) struct Language {
    pub(crate) name: &'static str,
    /// The phrase that opens the clause ("for the exclusive purpose of allowing").
    pub(crate) openings: &'static [&'static str],
    /// The phrase that opens the referral of the rest ("all other specimens").
    pub(crate) rest: &'static [&'static str],
    /// "Appendix I" and "Appendix II": the referral must name the first and not the second.
    pub(crate) appendix_i: &'static str,
    pub(crate) appendix_ii: &'static str,
    /// Words before the first item that are not an item ("of allowing international trade in").
    pub(crate) preambles: &'static [&'static str],
    /// Specimen types named in items, and the terms each one covers.
    pub(crate) specimens: &'static [(&'static str, &'static [&'static str])],
    /// An item limited to non-commercial trade says this ...
    pub(crate) non_commercial: &'static str,
    /// ... unless it says this (commercial or non-commercial).
    pub(crate) either: &'static str,
    /// Words that make an item conditional on facts outside the application (destinations,
    /// programmes, registration, marking, resolutions, quotas, country-specific limbs).
    pub(crate) conditions: &'static [&'static str],
}

const LEATHER: &[&str] = &[
    "LEA", "LPL", "LPS", "SHO", "HAN", "WAL", "WAT", "BEL", "SKO",
];
const TROPHY: &[&str] = &["TRO"];
const LIVE: &[&str] = &["LIV"];
const SKINS: &[&str] = &["SKI", "SKP"];
const HAIR: &[&str] = &["HAI", "HAP"];
const RAW_IVORY: &[&str] = &["TUS", "IVP", "IVS"];
const IVORY_CARVINGS: &[&str] = &["IVC"];
const EKIPA: &[&str] = &["IJW", "JWL"];
const WOOL: &[&str] = &["FIB", "HAI"];
const CLOTH: &[&str] = &["CLO", "GAR"];
const MEAT: &[&str] = &["MEA"];

pub(crate) const ENGLISH: Language = Language {
    name: "English",
    openings: &["exclusive purpose"],
    rest: &["all other specimens"],
    appendix_i: "appendix i",
    appendix_ii: "appendix ii",
    preambles: &["of allowing international trade in", "of allowing"],
    specimens: &[
        ("hunting trophies", TROPHY),
        ("trophies", TROPHY),
        ("live animals", LIVE),
        ("live specimens", LIVE),
        ("hides", SKINS),
        ("skins", SKINS),
        ("hair", HAIR),
        ("leather goods", LEATHER),
        ("raw ivory", RAW_IVORY),
        ("ivory carvings", IVORY_CARVINGS),
        ("ekipas", EKIPA),
        ("wool", WOOL),
        ("fibre", WOOL),
        ("cloth", CLOTH),
        ("meat", MEAT),
    ],
    non_commercial: "non-commercial",
    either: "commercial or non-commercial",
    conditions: &[
        "destination",
        "situ",
        "conservation",
        "registered",
        "certified",
        "marked",
        "resolution",
        "res. conf",
        "quota",
        " for botswana",
        " for namibia",
        " for south africa",
        " for zimbabwe",
        " for eswatini",
    ],
};

pub(crate) const FRENCH: Language = Language {
    name: "French",
    openings: &["seule fin de permettre", "seule fin d'autoriser"],
    rest: &["tous les autres spécimens"],
    appendix_i: "annexe i",
    appendix_ii: "annexe ii",
    preambles: &["le commerce international", "l'exportation", ":"],
    specimens: &[
        ("trophées de chasse", TROPHY),
        ("trophées", TROPHY),
        ("animaux vivants", LIVE),
        ("spécimens vivants", LIVE),
        ("peaux", SKINS),
        ("poils", HAIR),
        ("articles en cuir", LEATHER),
        ("ivoire brut", RAW_IVORY),
        ("sculptures en ivoire", IVORY_CARVINGS),
        ("ékipas", EKIPA),
        ("laine", WOOL),
        ("fibre", WOOL),
        ("tissu", CLOTH),
        ("étoffe", CLOTH),
        ("viande", MEAT),
    ],
    non_commercial: "non commercia",
    either: "commerciales ou non commerciales",
    conditions: &[
        "destinataire",
        "situ",
        "conservation",
        "enregistr",
        "certifi",
        "marqu",
        "résolution",
        "quota",
        "seulement)",
        "pour le botswana",
        "pour la namibie",
        "pour l'afrique du sud",
        "pour le zimbabwe",
        "pour l'eswatini",
        "(zimbabwe",
        "(namibie",
        "(botswana",
        "(afrique du sud",
    ],
};

pub(crate) const SPANISH: Language = Language {
    name: "Spanish",
    openings: &[
        "exclusivo propósito",
        "único propósito",
        "exclusiva finalidad",
        "único fin",
        "fin exclusivo",
    ],
    rest: &["todos los demás especímenes", "todos los otros especímenes"],
    appendix_i: "apéndice i",
    appendix_ii: "apéndice ii",
    preambles: &["de permitir el comercio internacional de", "de permitir"],
    specimens: &[
        ("trofeos de caza", TROPHY),
        ("trofeos", TROPHY),
        ("animales vivos", LIVE),
        ("especímenes vivos", LIVE),
        ("pieles", SKINS),
        ("pelo", HAIR),
        ("artículos de cuero", LEATHER),
        ("artículos de piel", LEATHER),
        ("marfil en bruto", RAW_IVORY),
        ("tallas de marfil", IVORY_CARVINGS),
        ("ekipas", EKIPA),
        ("lana", WOOL),
        ("fibra", WOOL),
        ("tela", CLOTH),
        ("carne", MEAT),
    ],
    non_commercial: "no comercia",
    either: "comerciales o no comerciales",
    conditions: &[
        "destinatario",
        "destino",
        "situ",
        "conservación",
        "registrad",
        "certificad",
        "marcad",
        "resolución",
        "cupo",
        "para botswana",
        "para namibia",
        "para sudáfrica",
        "para zimbabwe",
        "para eswatini",
    ],
};

pub(crate) const LANGUAGES: [&Language; 3] = [&ENGLISH, &FRENCH, &SPANISH];

/// Lower case, with non-breaking spaces as spaces and typographic apostrophes as `'`, so one
/// phrase matches however the text was typed.
pub(crate) fn normalise(text: &str) -> String {
    text.to_lowercase()
        .replace(['\u{a0}', '\u{202f}', '\n', '\r', '\t'], " ")
        .replace(['\u{2019}', '\u{2018}'], "'")
}
