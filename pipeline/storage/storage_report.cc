// RemoteStorage's report (storage_report.h): the cache's, the fetches' and the stores' counters.
#include "pipeline/storage/remote_shard.h"

namespace maskfeed {

v1::StorageState RemoteStorage::State() const {
  v1::StorageState state;
  state.set_cache_dir(cache().dir());
  state.set_cache_limit_bytes(options().cache_limit);
  state.set_cache_used_bytes(cache().used_bytes());
  state.set_held_bytes(fetch_stats().held_bytes.load());
  state.set_cache_hits(cache().stats().hits);
  state.set_shards_fetched(fetch_stats().shards_fetched.load());
  state.set_bytes_fetched(store_stats()->bytes_fetched.load());
  state.set_retries(store_stats()->retries.load());
  return state;
}

void RemoteStorage::AppendMetrics(PrometheusText* page) const {
  const CacheStats cache_stats = cache().stats();
  const FetchStats& fetch = fetch_stats();
  const StorageStats& store = *store_stats();
  page->Counter("maskfeed_cache_hits_total", "Shards found in the shard cache when needed.",
                cache_stats.hits);
  page->Counter("maskfeed_cache_misses_total", "Shards fetched because they were not cached.",
                cache_stats.misses);
  page->Counter("maskfeed_cache_evictions_total", "Cached shards removed to make room.",
                cache_stats.evictions);
  page->Gauge("maskfeed_cache_used_bytes", "Bytes of shards in the cache directory.",
              cache().used_bytes());
  page->Gauge("maskfeed_cache_limit_bytes", "The shard cache's byte limit (0: none).",
              options().cache_limit);
  page->Gauge("maskfeed_cache_held_bytes", "Bytes of shards streams hold (needed now or next).",
              fetch.held_bytes.load());
  page->Counter("maskfeed_storage_bytes_fetched_total",
                "Bytes received from object storage (shards and their indexes).",
                store.bytes_fetched.load());
  page->Counter("maskfeed_storage_requests_total", "Requests to object storage.",
                store.requests.load());
  page->Counter("maskfeed_storage_retries_total",
                "Requests retried after a timeout, reset, 5xx or short body.",
                store.retries.load());
  page->Counter("maskfeed_storage_failures_total", "Requests that failed after their retries.",
                store.failures.load());
  page->Counter("maskfeed_shard_fetches_total", "Shards fetched from object storage.",
                fetch.shards_fetched.load());
  page->Counter("maskfeed_shard_fetch_seconds_total",
                "Time spent fetching shards (divide by maskfeed_shard_fetches_total for the mean).",
                fetch.fetch_ns.load() / 1e9);
  page->Counter("maskfeed_shard_refetches_total", "Cached shards found damaged and fetched again.",
                fetch.refetches.load());
  page->Counter("maskfeed_shard_waits_total",
                "Reads that waited for their shard to arrive (prefetch fell behind).",
                fetch.waits.load());
}

}  // namespace maskfeed
