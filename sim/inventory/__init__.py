"""Stock arrays and replenishment."""
