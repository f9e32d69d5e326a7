//! The money checks of a set of field values, shared by outbound validation and the field
//! groups' consistency test (a group is never handed over in a combination a write would refuse).

use super::digest::calendar_day;
use super::money::Money;
use super::options::{FieldSpec, FieldType};
use super::SyncError;
use serde_json::Value;
use std::collections::BTreeMap;

/// The money checks of `validate_change` (outbound) on any set of field values: exact money, positive
/// required amounts, designations summing to the (first) money field when both are present.
pub(crate) fn check_amounts(
    specs: &[FieldSpec],
    fields: &BTreeMap<String, Value>,
) -> Result<(), SyncError> {
    let mut amount: Option<Money> = None;
    for s in specs {
        let v = fields.get(&s.name);
        let Some(v) = v.filter(|v| !v.is_null()) else {
            continue;
        };
        if s.field_type == FieldType::Date {
            let day = v.as_str().and_then(calendar_day);
            let datetime = v.as_str().is_some_and(|t| super::parse_utc_ms(t).is_ok());
            if day.is_none() && !datetime {
                return Err(SyncError::InvalidDate {
                    field: s.name.clone(),
                });
            }
        }
        if s.field_type == FieldType::Money {
            let m = Money::from_json(v).map_err(|error| SyncError::InvalidMoney {
                field: s.name.clone(),
                error,
            })?;
            if s.required && m.micros <= 0 {
                return Err(SyncError::NonPositiveAmount {
                    field: s.name.clone(),
                });
            }
            if amount.is_none() {
                amount = Some(m);
            }
        }
    }
    for s in specs
        .iter()
        .filter(|s| s.field_type == FieldType::Designations)
    {
        let Some(v) = fields.get(&s.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(items) = v.as_array() else {
            return Err(SyncError::InvalidMoney {
                field: s.name.clone(),
                error: super::MoneyError::NotDecimal,
            });
        };
        if items.is_empty() {
            continue;
        }
        let mut sum = Money { micros: 0 };
        for (i, item) in items.iter().enumerate() {
            let field = format!("{}[{i}].amountDesignated", s.name);
            let a = item
                .get("amountDesignated")
                .ok_or_else(|| SyncError::MissingField {
                    field: field.clone(),
                })?;
            let m = Money::from_json(a).map_err(|error| SyncError::InvalidMoney {
                field: field.clone(),
                error,
            })?;
            sum = sum.checked_add(m).ok_or(SyncError::InvalidMoney {
                field: field.clone(),
                error: super::MoneyError::Overflow,
            })?;
        }
        if let Some(amount) = amount {
            if sum != amount {
                return Err(SyncError::DesignationsMismatch {
                    field: s.name.clone(),
                    sum: sum.canonical(),
                    amount: amount.canonical(),
                });
            }
        }
    }
    Ok(())
}
