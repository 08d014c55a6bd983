//! Typed identifiers. Each wraps a UUID v7 (time-ordered, so ids sort by creation and
//! keyset pagination over them is stable).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $entity:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses an id from its text form, naming the entity in the error.
            pub fn parse(s: &str) -> crate::Result<Self> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| {
                    crate::Error::invalid(concat!($entity, "_id"), format!("{s:?} is not a valid id (expected a UUID)"))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                Self::parse(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// Identifies an [`Account`](super::Account), the tenant.
    AccountId, "account"
);
id_type!(
    /// Identifies an [`Experiment`](super::Experiment).
    ExperimentId, "experiment"
);
id_type!(
    /// Identifies a [`Run`](super::Run).
    RunId, "run"
);
id_type!(
    /// Identifies a [`Sample`](super::Sample).
    SampleId, "sample"
);
id_type!(
    /// Identifies an [`ApiKey`](crate::auth::ApiKey).
    ApiKeyId, "api_key"
);
id_type!(
    /// Identifies a quota reservation. The reservation paying for a run has the run's id
    /// (`ReservationId::from(run_id)`), so it is found from the run alone.
    ReservationId, "reservation"
);

impl From<RunId> for ReservationId {
    fn from(run: RunId) -> Self {
        Self(run.0)
    }
}
