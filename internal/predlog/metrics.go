package predlog

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the log's Prometheus collectors. They always exist (so the hot path has
// no nil checks) and are registered only when Options.Metrics is set.
type metrics struct {
	appended     *prometheus.CounterVec // by endpoint
	dropped      *prometheus.CounterVec // by endpoint
	uploaded     *prometheus.CounterVec // by endpoint
	objects      prometheus.Counter
	uploadErrors prometheus.Counter
}

func newMetrics(l *Log, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_predlog_records_appended_total",
			Help: "Prediction records written to the local write-ahead log, by endpoint.",
		}, []string{"endpoint"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_predlog_records_dropped_total",
			Help: "Prediction records dropped because the local backlog was full, by endpoint.",
		}, []string{"endpoint"}),
		uploaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plinth_predlog_records_uploaded_total",
			Help: "Prediction records written to Parquet objects in the blob store, by endpoint.",
		}, []string{"endpoint"}),
		objects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plinth_predlog_objects_uploaded_total",
			Help: "Parquet objects written to the blob store.",
		}),
		uploadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "plinth_predlog_upload_errors_total",
			Help: "Failed attempts to upload a closed write-ahead segment.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{
		m.appended, m.dropped, m.uploaded, m.objects, m.uploadErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "plinth_predlog_backlog_bytes",
			Help: "Bytes of the local write-ahead log not yet uploaded.",
		}, func() float64 { return float64(l.Status().BacklogBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "plinth_predlog_degraded",
			Help: "1 while the prediction log drops records because its backlog is full.",
		}, func() float64 {
			if l.Status().Degraded {
				return 1
			}
			return 0
		}),
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}
