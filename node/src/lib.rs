//! annals node library (placeholder, being written).
