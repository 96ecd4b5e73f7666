//! The register's vocabulary: what a batch holds once read and checked field by field.
//! References between records (a flow's specimen, an event's agent, a document) are still
//! keys here; [`crate::Register::ingest`] resolves them against the batch and the register.

use domain::{CountryCode, Date, Quantity, SourceCode, TaxonId, TermCode, Timestamp};
use rust_decimal::Decimal;
use serde::Serialize;

/// Defines a closed vocabulary stored as its snake_case name (the CHECK constraints of
/// migration 0013 list the same names).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The accepted names, for error messages.
            pub fn accepted() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }
    };
}

vocabulary!(
    /// What an event does to the specimens it names.
    EventKind {
        WildHarvest = "wild_harvest",
        CaptiveBirth = "captive_birth",
        ArtificialPropagation = "artificial_propagation",
        Ranching = "ranching",
        PreConvention = "pre_convention",
        Confiscation = "confiscation",
        Split = "split",
        Merge = "merge",
        Transform = "transform",
        Relabel = "relabel",
        Transfer = "transfer",
        Export = "export",
        ReExport = "re_export",
        Import = "import",
        Seizure = "seizure",
        Destruction = "destruction",
    }
);

/// How many inputs, outputs and subjects an event of a kind takes: `(min, max)`, `None` for
/// no maximum.
pub(crate) struct Shape {
    pub inputs: (usize, Option<usize>),
    pub outputs: (usize, Option<usize>),
    pub subjects: (usize, Option<usize>),
}

impl EventKind {
    /// A legal acquisition: a root of every origin, with outputs and no inputs.
    pub fn is_acquisition(self) -> bool {
        matches!(
            self,
            EventKind::WildHarvest
                | EventKind::CaptiveBirth
                | EventKind::ArtificialPropagation
                | EventKind::Ranching
                | EventKind::PreConvention
                | EventKind::Confiscation
        )
    }

    /// Custody and trade: the event moves or concerns its subjects without consuming them.
    pub fn is_custody(self) -> bool {
        matches!(
            self,
            EventKind::Transfer
                | EventKind::Export
                | EventKind::ReExport
                | EventKind::Import
                | EventKind::Seizure
        )
    }

    pub(crate) fn shape(self) -> Shape {
        let none = (0, Some(0));
        let some = (1, None);
        let one = (1, Some(1));
        let (inputs, outputs, subjects) = match self {
            // A birth in captivity or a propagation names its parents as subjects: used,
            // not consumed (they must be shown legally acquired, Res. Conf. 10.16 and 11.11).
            EventKind::CaptiveBirth | EventKind::ArtificialPropagation => (none, some, (0, None)),
            k if k.is_acquisition() => (none, some, none),
            EventKind::Split => (one, some, none),
            EventKind::Merge => ((2, None), one, none),
            EventKind::Transform => (some, some, none),
            EventKind::Relabel => (one, one, none),
            EventKind::Destruction => (some, none, none),
            _ => (none, none, some),
        };
        Shape {
            inputs,
            outputs,
            subjects,
        }
    }
}

vocabulary!(
    /// A document's type; with its issuing country and number, its key.
    DocType {
        ExportPermit = "export_permit",
        ImportPermit = "import_permit",
        ReExportCertificate = "re_export_certificate",
        PreConventionCertificate = "pre_convention_certificate",
        CaptiveBreedingCertificate = "captive_breeding_certificate",
        CertificateOfOrigin = "certificate_of_origin",
        Licence = "licence",
        LegalAcquisitionFinding = "legal_acquisition_finding",
        Invoice = "invoice",
        Other = "other",
    }
);

vocabulary!(
    /// Where a document stands.
    DocStatus {
        Issued = "issued",
        Used = "used",
        Cancelled = "cancelled",
        Lost = "lost",
        Expired = "expired",
    }
);

vocabulary!(
    /// The scheme an identifier belongs to; an identifier is unique within its scheme.
    IdScheme {
        CrocodilianTag = "crocodilian_tag",
        CaviarLabel = "caviar_label",
        Microchip = "microchip",
        Ring = "ring",
        Lot = "lot",
        Log = "log",
        Epc = "epc",
        Other = "other",
    }
);

vocabulary!(
    /// What an agent is.
    AgentKind {
        Authority = "authority",
        Trader = "trader",
        BreedingOperation = "breeding_operation",
        Nursery = "nursery",
        Ranch = "ranch",
        ProcessingPlant = "processing_plant",
        RepackagingPlant = "repackaging_plant",
        Other = "other",
    }
);

/// A batch read field by field: every value well-formed, references not yet resolved.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub agents: Vec<Agent>,
    pub documents: Vec<Document>,
    pub specimens: Vec<Specimen>,
    pub events: Vec<Event>,
    pub corrections: Vec<Correction>,
    /// New specimens described by their event's inputs (EPCIS only), completed by ingest.
    pub inherited: Vec<Inherited>,
}

impl Batch {
    /// Records in the batch, for the size limit.
    pub fn records(&self) -> usize {
        self.agents.len()
            + self.documents.len()
            + self.specimens.len()
            + self.events.len()
            + self.corrections.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Where it was read, for problems found later (`agents[0]`).
    pub path: String,
    pub key: String,
    pub kind: AgentKind,
    pub name: String,
    pub country: Option<CountryCode>,
    pub registration: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DocumentKey {
    pub country: CountryCode,
    pub doc_type: DocType,
    pub number: String,
}

impl std::fmt::Display for DocumentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.country,
            self.doc_type.as_str(),
            self.number
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub path: String,
    pub key: DocumentKey,
    pub status: DocStatus,
    pub issued_on: Option<Date>,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub taxon: Option<TaxonId>,
    /// What the document allows, and what was endorsed as actually used (EPIX-style).
    pub permitted: Option<Quantity>,
    pub actual: Option<Quantity>,
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub scheme: IdScheme,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specimen {
    pub path: String,
    pub key: String,
    pub taxon: TaxonId,
    pub term: TermCode,
    /// What it was when it came into being.
    pub quantity: Quantity,
    pub source: SourceCode,
    pub identifiers: Vec<Identifier>,
}

/// A specimen an event consumes or produces, with the quantity (any unit convertible into the
/// specimen's own); `None` for the whole specimen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// Where the specimen and the quantity were read, for problems found later.
    pub specimen_path: String,
    pub quantity_path: String,
    pub specimen: String,
    pub quantity: Option<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub path: String,
    pub key: String,
    pub kind: EventKind,
    pub at: Timestamp,
    pub country: Option<CountryCode>,
    pub agent: Option<String>,
    pub inputs: Vec<Flow>,
    pub outputs: Vec<Flow>,
    /// Specimens moved or concerned, not consumed (custody and trade events; the parents of a
    /// captive birth or a propagation).
    pub subjects: Vec<Flow>,
    pub documents: Vec<(String, DocumentKey)>,
    /// Transform only: the declared yield, output over input.
    pub yield_ratio: Option<Decimal>,
}

/// An event declared erroneous (EPCIS `errorDeclaration`): it stays in the register and is
/// read no more; the corrective events replace it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub path: String,
    pub event: String,
    pub declared_at: Timestamp,
    pub reason: String,
    pub corrective_events: Vec<String>,
}

/// New specimens whose description comes from their event's inputs, which may be in the
/// register: the outputs of an EPCIS `TransformationEvent` that declares no `cites:taxon`, the
/// parent an `AggregationEvent` ADD merges its children into. Ingest completes them
/// (`crate::inherit`); inputs that disagree on what is inherited refuse the batch, naming the
/// event and the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inherited {
    /// The event's path (`epcisBody.eventList[3]`).
    pub path: String,
    pub inputs: Vec<Flow>,
    pub outputs: Vec<Flow>,
    /// What the event declares; `None`: inherited from the inputs, under `fields`' name.
    pub taxon: Option<TaxonId>,
    pub term: Option<TermCode>,
    pub source: Option<SourceCode>,
    /// Where each inherited field would be declared (`ilmd.cites:taxon`, `cites:term`, …).
    pub fields: [String; 3],
    /// An output with no quantity of its own is the sum of the inputs (a merge), rather than
    /// one specimen.
    pub sum_of_inputs: bool,
}
