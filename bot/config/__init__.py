"""Configuration: load `.github/release-train.yml`, merge policies, validate, build the model."""
