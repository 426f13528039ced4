"""Metrics: SER, captioning and open-vocabulary emotion recognition."""
