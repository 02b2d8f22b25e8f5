"""Patients' words: a clinic's codebook of themes and the codes given to comments."""
