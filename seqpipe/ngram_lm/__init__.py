"""N-gram LMs estimated out of core from a snapshot's Parquet counts (`stats --split`): MKN, add-k, MLE."""
