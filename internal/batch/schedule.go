package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/plinth-ml/plinth/internal/core"
)

// scheduleTick is how often workers look for schedules that are due.
const scheduleTick = 15 * time.Second

// failedRun is a schedule's last job id when its last run could not be submitted.
const failedRun = "(submission failed; see the worker log)"

// ParseCron checks a schedule's cron expression: five fields (minute hour
// day-of-month month day-of-week) or a descriptor such as @daily, in UTC.
func ParseCron(expr string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, core.Errorf(core.EINVALID, "cron %q: %v (five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" for 02:00 UTC daily)", expr, err)
	}
	return sched, nil
}

// CreateSchedule validates and stores a schedule.
func (s *Service) CreateSchedule(ctx context.Context, sc core.BatchSchedule) (core.BatchSchedule, error) {
	if err := core.ValidateEndpointName(sc.Name); err != nil {
		return core.BatchSchedule{}, core.Errorf(core.EINVALID, "schedule name: %v", err)
	}
	if _, err := ParseCron(sc.Cron); err != nil {
		return core.BatchSchedule{}, err
	}
	if err := validateSpec(&sc.Spec); err != nil {
		return core.BatchSchedule{}, err
	}
	if _, err := core.ParseModelRef(sc.Spec.ModelURI); err != nil {
		return core.BatchSchedule{}, err
	}
	return s.st.CreateBatchSchedule(ctx, sc)
}

// NextRun is when a schedule runs next after its last run (or its creation).
func NextRun(sc core.BatchSchedule) (time.Time, error) {
	sched, err := ParseCron(sc.Cron)
	if err != nil {
		return time.Time{}, err
	}
	last := max(sc.LastRunTime, sc.CreationTime)
	return sched.Next(time.UnixMilli(last).UTC()), nil
}

// runSchedules submits the runs that are due, every scheduleTick, until ctx ends.
// Every worker process does this; a run's job key (schedule and time) makes the
// submissions of several processes one job.
func (s *Service) runSchedules(ctx context.Context) {
	t := time.NewTicker(scheduleTick)
	defer t.Stop()
	for {
		s.scheduleDue(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) scheduleDue(ctx context.Context, now time.Time) {
	list, err := s.st.ListBatchSchedules(ctx)
	if err != nil {
		s.log.Warn("batch schedules: list", "err", err)
		return
	}
	for _, sc := range list {
		if _, err := s.RunScheduleIfDue(ctx, sc, now); err != nil {
			s.log.Warn("batch schedule run failed", "schedule", sc.Name, "err", err)
		}
	}
}

// RunScheduleIfDue submits schedule sc's run if one is due at now: the latest due
// time only (runs missed while no worker was up are not caught up one by one).
func (s *Service) RunScheduleIfDue(ctx context.Context, sc core.BatchSchedule, now time.Time) (*core.BatchJob, error) {
	sched, err := ParseCron(sc.Cron)
	if err != nil {
		return nil, err
	}
	next := sched.Next(time.UnixMilli(max(sc.LastRunTime, sc.CreationTime)).UTC())
	if next.After(now) {
		return nil, nil
	}
	due := next
	for n := sched.Next(due); !n.After(now); n = sched.Next(n) {
		due = n
	}
	sum := sha256.Sum256([]byte(sc.Name + "\x00" + strconv.FormatInt(due.UnixMilli(), 10)))
	job, _, err := s.Submit(ctx, sc.Spec, SubmitOptions{Actor: sc.Actor, Key: "schedule:" + hex.EncodeToString(sum[:]), ScheduleName: sc.Name})
	if err != nil {
		// Record the attempt so a broken schedule does not retry every tick; the
		// error is in the log and the next run is tried at its time.
		s.st.ClaimScheduleRun(ctx, sc.Name, due.UnixMilli(), failedRun)
		return nil, fmt.Errorf("run due %s: %w", due.Format(time.RFC3339), err)
	}
	if _, err := s.st.ClaimScheduleRun(ctx, sc.Name, due.UnixMilli(), job.ID); err != nil {
		return &job, err
	}
	s.log.Info("batch schedule ran", "schedule", sc.Name, "due", due, "job", job.ID)
	return &job, nil
}
