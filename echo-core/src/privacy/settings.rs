//! Per-account privacy settings.

use serde::{Deserialize, Serialize};

use super::redact::Redactor;
use crate::{Error, Result};

/// Regions whose national phone formats are recognized when an account does not choose.
pub const DEFAULT_PHONE_REGIONS: [&str; 4] = ["US", "GB", "DE", "FR"];

/// An account's privacy settings (`Echo::set_privacy_settings`). Stored per account, and read
/// by whichever process executes the account's runs, so every worker applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// Replace emails, phone numbers and card numbers in answers with placeholders before
    /// they are stored (off by default).
    pub redact_pii: bool,
    /// Regions (ISO 3166-1 alpha-2) whose national phone formats are recognized; numbers
    /// written with `+` and a country code are recognized whatever this says. At most 20.
    pub phone_regions: Vec<String>,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            redact_pii: false,
            phone_regions: DEFAULT_PHONE_REGIONS.iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// Each listed region is tried for every phone-shaped candidate: more regions, more chances
/// that some digit run is valid somewhere.
const MAX_PHONE_REGIONS: usize = 20;

impl PrivacySettings {
    /// Redaction on, with the default phone regions.
    pub fn redacting() -> Self {
        Self {
            redact_pii: true,
            ..Self::default()
        }
    }

    /// Checks the settings (region codes known, not too many); `InvalidInput` naming the
    /// field otherwise. Region codes are normalized to upper case.
    pub fn validated(mut self) -> Result<Self> {
        if self.phone_regions.len() > MAX_PHONE_REGIONS {
            return Err(Error::invalid(
                "privacy.phone_regions",
                format!("at most {MAX_PHONE_REGIONS} regions; list the ones your accounts' answers use"),
            ));
        }
        for region in &mut self.phone_regions {
            super::redact::phone::parse_region(region)?;
            *region = region.trim().to_ascii_uppercase();
        }
        self.phone_regions.sort();
        self.phone_regions.dedup();
        Ok(self)
    }

    /// The redactor these settings ask for, or `None` when redaction is off.
    pub fn redactor(&self) -> Result<Option<Redactor>> {
        if !self.redact_pii {
            return Ok(None);
        }
        Redactor::new(&self.phone_regions).map(Some)
    }
}
