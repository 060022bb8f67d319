package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/apikey"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/metrics"
	"github.com/ingren/ingren/internal/sqlite"
	"github.com/ingren/ingren/internal/webhook"
)

// LocalQueueVisibility is how long the local worker may hold a message
// before it comes back: longer than a model call with its retries.
const LocalQueueVisibility = 2 * time.Minute

// Local is the all-in-one program: the API and the campaign worker over
// SQLite (store and queue) in one process.
type Local struct {
	Handler http.Handler
	poller  *campaign.Poller
	queue   *sqlite.Queue
	notices *sqlite.Queue
	store   *sqlite.Store
	db      *sql.DB
	log     *slog.Logger
	// retentionEvery is RunRetention's period; 0 means hourly.
	retentionEvery time.Duration
}

// NewLocal builds the local program from cfg. keys are the accepted API keys;
// campaigns that an earlier version stored under their unkeyed tenant ids
// move to their keyed ones.
func NewLocal(cfg config.Config, keys []string, log *slog.Logger) (_ *Local, err error) {
	prom := metrics.NewPrometheus()
	composer, err := Composer(cfg, log, prom)
	if err != nil {
		return nil, err
	}
	prices, err := Prices(cfg)
	if err != nil {
		return nil, err
	}
	if err := openDataDir(cfg.DataDir, log); err != nil {
		return nil, err
	}
	secret, err := tenantSecret(cfg)
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(filepath.Join(cfg.DataDir, "ingren.db"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	store, err := sqlite.NewStore(db)
	if err != nil {
		return nil, err
	}
	queue, err := sqlite.NewQueue(db, "work", LocalQueueVisibility, cfg.MaxReceiveCount)
	if err != nil {
		return nil, err
	}
	keySet := apikey.NewKeyed(secret, keys)
	if err := migrateTenants(context.Background(), store, keySet, keys, log); err != nil {
		return nil, err
	}
	// Webhook calls have a queue of their own, worked apart from the model
	// work (campaign.Poller.Notices).
	notices, err := sqlite.NewQueue(db, "notify", LocalQueueVisibility, cfg.MaxReceiveCount)
	if err != nil {
		return nil, err
	}
	svc := &campaign.Service{Store: store, Queue: queue, Composer: composer, Checker: composer, Prices: prices,
		MaxProspects: cfg.MaxCampaignProspects, TTL: cfg.CampaignTTL, AllowedModels: cfg.Models(),
		KeyBudgets: keyBudgets(cfg), Observer: prom}
	worker := &campaign.Worker{
		Store: store, Queue: queue, Composer: composer, Notices: notices, Prices: prices,
		KeyBudgets: keyBudgets(cfg), Model: cfg.OpenAIModel,
		Notifier:    webhook.New(webhook.Options{Secret: cfg.WebhookSecret, AllowPrivate: cfg.WebhookAllowPrivate}),
		Concurrency: cfg.WorkerConcurrency, MaxReceive: cfg.MaxReceiveCount, Lease: LocalQueueVisibility, Log: log,
		Batches: BatchesOf(composer), BatchPollInterval: cfg.BatchPollInterval,
		Observer: prom,
	}
	h := api.NewServer(api.Config{CORSAllowOrigins: cfg.CORSAllowOrigins, EmailTimeout: cfg.OpenAITimeout, Prices: prices,
		Meter: newMeter(cfg, store, composer, prices, prom, log)},
		api.KeyAuth{Keys: keySet}, composer, svc, log)
	return &Local{
		Handler: withMetrics(h, prom.Handler()),
		poller:  &campaign.Poller{Queue: queue, Notices: notices, Worker: worker, Concurrency: cfg.WorkerConcurrency, Log: log},
		queue:   queue,
		notices: notices,
		store:   store,
		db:      db,
		log:     log,
	}, nil
}

// withMetrics serves GET /metrics with m, in Prometheus text format, and
// every other request with h. It needs no API key: operators scrape
// it, and it shows counts per model and status, nothing about a tenant or
// a prospect (SECURITY.md). Only the local program serves it; on AWS the
// metrics go to CloudWatch.
func withMetrics(h, m http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			m.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RunWorker works the queue until ctx ends. It first takes back the
// messages and email leases a previous run held when it died, so that a
// restart after kill -9 resumes at once instead of after the visibility
// timeout. The poller settles dead letters at start and every minute.
func (l *Local) RunWorker(ctx context.Context) error {
	n, err := l.queue.ReleaseInFlight(ctx)
	if err != nil {
		return err
	}
	notices, err := l.notices.ReleaseInFlight(ctx)
	if err != nil {
		return err
	}
	n += notices
	leases, err := l.store.ReleaseLeases(ctx)
	if err != nil {
		return err
	}
	if n > 0 || leases > 0 {
		l.log.Info("resumed work a previous run held", slog.Int("messages", n), slog.Int("leases", leases))
	}
	return l.poller.Run(ctx)
}

// Close releases the database.
func (l *Local) Close() error { return l.db.Close() }

// tuneGC trades memory the program does not need for CPU it does: the
// single-email path allocates ~90 KB per request, mostly JSON, and with the
// default GOGC=100 it spends ~16% of its CPU collecting (BENCHMARKS.md). A
// memory limit keeps the heap bounded all the same: 40 MiB, which with
// the ~21 MiB the program holds outside the Go heap (its code, SQLite's
// page caches) keeps its peak under the 64 MiB goal (48 MiB did until
// the usage ledger and the metrics added ~3 MiB; under wrk -c32 the
// peak went 69.0 -> 61.4 MiB at the same req/s). GOGC and GOMEMLIMIT,
// when getenv finds them set, win: the runtime has applied them already.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(40 << 20)
	}
}

// Serve runs the local program until ctx ends: the API on cfg.Port, the
// worker, and the deletion of expired campaigns. With no API_KEYS it
// accepts the key kept in DATA_DIR (made on the first start) and prints it
// to out.
func Serve(ctx context.Context, cfg config.Config, out io.Writer, log *slog.Logger) error {
	keys := cfg.APIKeys
	if len(keys) == 0 {
		if err := openDataDir(cfg.DataDir, log); err != nil {
			return err
		}
		k, path, created, err := localKey(cfg.DataDir)
		if err != nil {
			return err
		}
		keys = []string{k}
		if created {
			fmt.Fprintf(out, "No API_KEYS set; made this key and kept it in %s for the next starts:\n\n    x-api-key: %s\n\n", path, k)
		} else {
			fmt.Fprintf(out, "No API_KEYS set; accepting the key kept in %s:\n\n    x-api-key: %s\n\n", path, k)
		}
	}
	l, err := NewLocal(cfg, keys, log)
	if err != nil {
		return err
	}
	defer l.Close()
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(cfg.Port)))
	if err != nil {
		return err
	}
	// ReadTimeout bounds a slow client's hold on a connection; 60 s reads a
	// 6 MB campaign at 100 KB/s.
	srv := &http.Server{Handler: l.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.Bool("offline", cfg.Offline()),
		slog.String("data_dir", cfg.DataDir), slog.Int("worker_concurrency", cfg.WorkerConcurrency))
	fmt.Fprintf(out, "Ingren is listening on http://localhost:%d\n", ln.Addr().(*net.TCPAddr).Port)

	var wg sync.WaitGroup
	wctx, stopWorker := context.WithCancel(ctx)
	defer stopWorker()
	wg.Go(func() { l.RunRetention(wctx) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.RunWorker(wctx); err != nil {
			log.Error("worker stopped", slog.String("error", err.Error()))
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		stopWorker()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	stopWorker()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
