//! The closed vocabularies: stored and exchanged as SCREAMING_SNAKE text.

use super::FieldError;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the stored text, naming `field` on failure.
            pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(FieldError::new(
                        field,
                        format!("{raw:?} is not one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// What kind of body an actor is.
    ActorKind {
        /// A state or its government.
        Government => "GOVERNMENT",
        /// A company.
        Company => "COMPANY",
        /// An investment fund.
        InvestmentFund => "INVESTMENT_FUND",
        /// A public investment bank.
        PublicBank => "PUBLIC_BANK",
        /// A foundation that receives endowments.
        Foundation => "FOUNDATION",
        /// An international organisation.
        InternationalOrg => "INTERNATIONAL_ORG",
        /// A philanthropy.
        Philanthropy => "PHILANTHROPY",
        /// Anything else, e.g. an aggregate of investors.
        Other => "OTHER",
    }
);

text_enum!(
    /// What kind of occasion an event is.
    EventKind {
        /// A summit.
        Summit => "SUMMIT",
        /// One segment (day, venue) of a summit.
        SummitSegment => "SUMMIT_SEGMENT",
        /// An investment summit such as Choose France.
        InvestmentSummit => "INVESTMENT_SUMMIT",
        /// A stand-alone announcement.
        Announcement => "ANNOUNCEMENT",
        /// Anything else.
        Other => "OTHER",
    }
);

text_enum!(
    /// What kind of money a commitment is.
    CommitmentKind {
        /// Private or mixed investment.
        Investment => "INVESTMENT",
        /// An endowment of a foundation.
        Endowment => "ENDOWMENT",
        /// A public programme.
        PublicProgram => "PUBLIC_PROGRAM",
    }
);

text_enum!(
    /// Lifecycle status of a commitment.
    CommitmentStatus {
        /// Announced or pledged.
        Announced => "ANNOUNCED",
        /// Confirmed or concretised later.
        Confirmed => "CONFIRMED",
        /// Being carried out.
        InProgress => "IN_PROGRESS",
        /// Delivered.
        Delivered => "DELIVERED",
        /// Stalled.
        Stalled => "STALLED",
        /// Withdrawn or abandoned.
        Withdrawn => "WITHDRAWN",
    }
);

text_enum!(
    /// How a commitment relates to its parent.
    CommitmentRelation {
        /// A component of a headline package: counted through the parts.
        PartOf => "PART_OF",
        /// A breakdown that may overlap its siblings: never added up.
        DetailOf => "DETAIL_OF",
        /// A later concretisation of an earlier pledge: not new money.
        Confirms => "CONFIRMS",
        /// Money pledged towards the beneficiary's fundraising target.
        TowardsTarget => "TOWARDS_TARGET",
    }
);

text_enum!(
    /// What kind of grouping actors sign.
    CoalitionKind {
        /// A declaration or statement.
        Declaration => "DECLARATION",
        /// A coalition, partnership or group of funders.
        Coalition => "COALITION",
    }
);

text_enum!(
    /// An actor's stance on a coalition or declaration.
    Stance {
        /// Signed or joined.
        Signed => "SIGNED",
        /// Publicly did not sign.
        Declined => "DECLINED",
        /// Signed, then withdrew.
        Withdrawn => "WITHDRAWN",
    }
);

text_enum!(
    /// What a reported count of signatories or members counts.
    ReportedCountKind {
        /// All who had signed or joined by then, as the source counts them.
        Count => "COUNT",
        /// An early count, before everyone had signed ("53 so far").
        Early => "EARLY",
        /// A count of something wider than the signatories (e.g. also research institutes).
        Wider => "WIDER",
    }
);

impl CommitmentRelation {
    /// Whether the relation points at a parent commitment (all but `TOWARDS_TARGET`, which
    /// points at the beneficiary's target).
    pub fn needs_parent(self) -> bool {
        !matches!(self, Self::TowardsTarget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for kind in ActorKind::ALL {
            assert_eq!(ActorKind::parse("kind", kind.as_str()).unwrap(), *kind);
        }
        for status in CommitmentStatus::ALL {
            assert_eq!(CommitmentStatus::parse("status", status.as_str()).unwrap(), *status);
        }
    }

    #[test]
    fn unknown_text_names_the_field_and_the_choices() {
        let err = Stance::parse("stance", "LEAD").unwrap_err();
        assert_eq!(err.field, "stance");
        assert_eq!(err.message, "\"LEAD\" is not one of SIGNED, DECLINED, WITHDRAWN");
    }
}
