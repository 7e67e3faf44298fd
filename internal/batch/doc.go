// Package batch runs batch inference as a job: it lists the input files, plans them
// into shards (files, or runs of Parquet row groups), scores one shard by streaming its
// rows through the model in record batches, writes each shard's output part under its
// final name in one atomic store, sends rows that cannot be scored to a rejects part,
// and commits the job's output with a manifest of every part and its digest.
package batch
