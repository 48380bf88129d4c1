//! Curator-compatible recipes (work in progress).
