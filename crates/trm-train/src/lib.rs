//! Training: the loop of reference section 3.
