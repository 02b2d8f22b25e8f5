"""Audio for guided practices: script markup, speech synthesis, processing and encoding."""
