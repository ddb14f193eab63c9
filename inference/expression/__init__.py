"""Gene expression of one tumour, normalised against its cancer type's TCGA reference cohort."""
