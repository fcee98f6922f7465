namespace TaskDispatch;

/// <summary>Submissions to a dispatcher with a durable store, and the replay of what the store held at start: the
/// intake's checks, then each task is written to the store before it is scheduled and before its submission returns.
/// Exists only in a dispatcher with a store.</summary>
internal sealed class DurableIntake(
    TaskDispatcher dispatcher,
    TaskIntake intake,
    TaskPersistence persistence,
    OutcomeArchive archive,
    Scheduler scheduler,
    TimeProvider timeProvider)
{
    /// <summary>Writes that one batch submission awaits together at most: about what one commit takes.</summary>
    private const int BatchWrites = 1_000;

    /// <summary>The error a delegate submission gets.</summary>
    internal InvalidOperationException DelegateRejected() => persistence.DelegateRejected();

    /// <summary>Readies a handler task's work for storing; throws at the call site when its input cannot be stored.</summary>
    internal void Prepare<THandler, TInput, TResult>(HandlerWork work)
        where THandler : class, ITaskHandler<TInput, TResult> =>
        TaskPersistence.Prepare(work, persistence.Catalog.For<THandler, TInput, TResult>());

    /// <summary>Submits one task: checked, registered, written, then scheduled.</summary>
    internal async ValueTask<THandle> SubmitAsync<THandle>(object work, TaskOptions? options, TaskIntake.HandleFactory<THandle> factory, bool replacesEnded, CancellationToken cancellationToken)
        where THandle : TaskHandle
    {
        if (work is not HandlerWork { Binding: not null })
        {
            throw persistence.DelegateRejected();
        }

        if (intake.Admit(ref options, out var reentrant) is { } existing)
        {
            return intake.AsExisting<THandle>(existing);
        }

        // An idempotent id that ended longer ago than the tasks kept in memory, or before a restart, is still taken
        // for the retention period: the store remembers it.
        if (!replacesEnded && options.Id is { } id
            && await FindRetainedEndedAsync(id, cancellationToken).ConfigureAwait(false) is { } ended)
        {
            return intake.AsExisting<THandle>(ended);
        }

        var holdsPermit = reentrant is null;
        if (holdsPermit)
        {
            await intake.TakePermitAsync(cancellationToken).ConfigureAwait(false);
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ((HandlerWork)work).Stored = gate.Task;
        var handle = intake.Register(work, options, factory, holdsPermit, reentrant, out existing, out _);
        if (existing is not null)
        {
            gate.TrySetResult();
            return intake.AsExisting<THandle>(existing);
        }

        try
        {
            // A task that ended as it was registered (a token already cancelled) was never accepted: nothing to store.
            if (!handle.IsFinished)
            {
                await persistence.AddAsync(handle, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            NotStored(handle, exception);
            throw;
        }
        finally
        {
            gate.TrySetResult();
        }

        intake.Schedule(handle, timeProvider.GetUtcNow());
        return handle;
    }

    /// <summary>Finds a task that ended within retention in the store (before a restart, or beyond the ones kept in
    /// memory), and keeps it in memory from then on.</summary>
    internal async ValueTask<TaskHandle?> FindRetainedEndedAsync(string id, CancellationToken cancellationToken) =>
        await persistence.FindEndedAsync(dispatcher, id, cancellationToken).ConfigureAwait(false) is { } ended && archive.AddIfRetained(ended)
            ? ended
            : null;

    /// <summary>Submits many tasks of one handler with shared options: each is checked and registered, all are written
    /// without waiting for one another (so that they share commits), and each is scheduled once it is stored.</summary>
    internal async ValueTask<IReadOnlyList<TaskHandle<TResult>>> SubmitManyAsync<THandler, TInput, TResult>(IEnumerable<TInput> inputs, TaskOptions? options, CancellationToken cancellationToken)
        where THandler : class, ITaskHandler<TInput, TResult>
    {
        var binding = persistence.Catalog.For<THandler, TInput, TResult>();
        var handles = new List<TaskHandle<TResult>>();
        var written = new List<(TaskHandle Handle, Task Stored)>(Math.Min(BatchWrites, inputs.TryGetNonEnumeratedCount(out var count) ? count : BatchWrites));
        try
        {
            foreach (var input in inputs)
            {
                var work = new HandlerInput<TInput>(input, typeof(THandler));
                TaskPersistence.Prepare(work, binding);
                var taskOptions = options;
                _ = intake.Admit(ref taskOptions, out var reentrant);
                var holdsPermit = reentrant is null;
                if (holdsPermit && !intake.TryTakePermit())
                {
                    // No room: what is written so far must be scheduled before waiting, or it could never free a permit.
                    await ScheduleWrittenAsync(written).ConfigureAwait(false);
                    await intake.TakePermitAsync(cancellationToken).ConfigureAwait(false);
                }

                var handle = intake.Register(work, taskOptions, HandleFactories.Handler<THandler, TInput, TResult>.Create, holdsPermit, reentrant, out _, out _);
                handles.Add(handle);
                var stored = persistence.AddAsync(handle, CancellationToken.None).AsTask();
                work.Stored = stored;
                written.Add((handle, stored));
                if (written.Count >= BatchWrites)
                {
                    await ScheduleWrittenAsync(written).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            // Also when an input, a stop or a full queue ends the batch early: what was written runs (or, if its write
            // failed, ends failed); nothing registered is left waiting for a schedule that never comes.
            await ScheduleWrittenAsync(written).ConfigureAwait(false);
        }

        return handles;
    }

    /// <summary>Takes back a task of a durable store that had not ended when its process stopped: registered as live
    /// again, with its interrupted attempt, if any, concluded by the recovery policy, then scheduled for its stored
    /// ready time.</summary>
    /// <returns>Whether an attempt of it had been interrupted.</returns>
    internal bool Replay(StoredTask stored, AttemptRecovery recovery)
    {
        var handle = persistence.RebuildLive(dispatcher, stored, out var problem);
        handle ??= TaskPersistence.Unresolved(dispatcher, stored, problem);
        if (!intake.RegisterReplayed(handle))
        {
            return false;
        }

        if (problem is not null)
        {
            handle.TryFinish(TaskState.Failed, new InvalidOperationException(problem));
            return false;
        }

        var now = timeProvider.GetUtcNow();
        if (handle.Options.OverallTimeout is { } overall && overall != Timeout.InfiniteTimeSpan)
        {
            handle.SetOverallTimer(DueTimer.Start(timeProvider, TaskIntake.OnOverallTimeout, handle, handle.SubmittedAt + overall));
        }

        handle.ReadyAt = stored.ReadyAt;
        if (stored.Attempts <= stored.ConcludedAttempts)
        {
            // Never started, or stopped gracefully between attempts or in one: not interrupted, so no retry is spent.
            intake.Schedule(handle, now);
            return false;
        }

        if (recovery.ConcludeInterrupted(handle, stored.LastNode ?? "unknown"))
        {
            scheduler.PostReady(handle);
        }

        return true;
    }

    /// <summary>Schedules each written task once its write is durable; one whose write failed ends failed and never runs.</summary>
    private async Task ScheduleWrittenAsync(List<(TaskHandle Handle, Task Stored)> written)
    {
        foreach (var (handle, stored) in written)
        {
            try
            {
                await stored.ConfigureAwait(false);
                intake.Schedule(handle, timeProvider.GetUtcNow());
            }
            catch (Exception exception)
            {
                NotStored(handle, exception);
            }
        }

        written.Clear();
    }

    /// <summary>A task the store did not write was not acknowledged, so it never runs: it ends failed (anyone who found
    /// it by id hears why), and its id is free for the caller's retry.</summary>
    private void NotStored(TaskHandle handle, Exception exception)
    {
        handle.TryFinish(TaskState.Failed, exception);
        archive.Forget(handle);
    }
}
