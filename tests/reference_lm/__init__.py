"""The in-memory n-gram LMs seqpipe had before estimation moved to the snapshot (`seqpipe.ngram_lm`).

Kept as an independent reference the out-of-core estimator is tested against: numpy tables of every
order in RAM, modified Kneser-Ney as lmplz (checked against KenLM's figures), add-k, MLE, ARPA export.
Not part of the product: the library has one estimator.
"""
