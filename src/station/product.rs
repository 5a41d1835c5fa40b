//! The engine's view of a product from the product master (pure conversion).

use crate::config::Product;
use crate::config::model::TemplateAi;
use crate::line::{CodeTemplate, Grade, ProductSpec, TemplateField};

/// Builds the engine's product spec; refuses a template the line cannot print.
pub fn product_spec(product: &Product) -> Result<ProductSpec, String> {
    let mut fields = Vec::with_capacity(product.code_template.len());
    for ai in &product.code_template {
        fields.push(match ai {
            TemplateAi::Gtin => TemplateField::Gtin,
            TemplateAi::Expiry => TemplateField::Expiry,
            TemplateAi::Lot => TemplateField::Lot,
            TemplateAi::Serial => TemplateField::Serial,
            TemplateAi::ProductionDate => {
                return Err(format!(
                    "product {} prints a production date (AI 11), which the line cannot fill in yet: remove it from the code template",
                    product.gtin
                ));
            }
            TemplateAi::Nhrn(_) => {
                let code = (*ai).ai();
                let value = product.nhrn.get(&code).cloned().ok_or_else(|| {
                    format!(
                        "product {} prints AI ({code}) but has no value for it: add it to nhrn in the client file",
                        product.gtin
                    )
                })?;
                TemplateField::Fixed { ai: code, value }
            }
        });
    }
    let min_grade = Grade::from_decimal(product.min_grade as f32).ok_or_else(|| {
        format!(
            "product {} has min_grade {}, outside 0.0 to 4.0",
            product.gtin, product.min_grade
        )
    })?;
    Ok(ProductSpec {
        gtin: product.gtin.clone(),
        template: CodeTemplate { fields },
        min_grade,
        consecutive_reject_limit: product.consecutive_reject_limit.max(1),
    })
}
