// What a front end shows of the storage behind its datasets, without knowing its types: the
// state Describe reports and the Prometheus metrics /metrics exports. RemoteStorage (the shard
// cache and fetches of remote roots) is the one implementation; local data has none.
#ifndef MASKFEED_PIPELINE_STORAGE_STORAGE_REPORT_H_
#define MASKFEED_PIPELINE_STORAGE_STORAGE_REPORT_H_

#include "maskfeed/v1/feed.pb.h"
#include "pipeline/base/prometheus_text.h"

namespace maskfeed {

class StorageReport {
 public:
  virtual ~StorageReport() = default;
  // The cache's directory, limit and use, and the fetch counters, as of now.
  virtual v1::StorageState State() const = 0;
  // The same and more (misses, evictions, requests, failures, fetch time, waits) as metric
  // families, appended to `page`.
  virtual void AppendMetrics(PrometheusText* page) const = 0;
};

}  // namespace maskfeed

#endif  // MASKFEED_PIPELINE_STORAGE_STORAGE_REPORT_H_
