namespace TaskDispatch.Benchmarks.External;

/// <summary>
/// The completion signal the external systems' jobs share: each job counts it down once, and the operation ends when
/// it reaches zero. One shared signal rather than a <see cref="TaskCompletionSource"/> per job, because Hangfire and
/// Quartz build their jobs themselves and can only reach static or scheduler-wide state.
/// </summary>
internal sealed class CompletionCountdown
{
    private TaskCompletionSource _allRan = NewCompletion();
    private int _expected;
    private int _remaining;

    /// <summary>Arms the signal for an operation of <paramref name="expected"/> jobs. Call before the first job is submitted.</summary>
    public void Reset(int expected)
    {
        _expected = expected;
        _allRan = NewCompletion();
        Volatile.Write(ref _remaining, expected);
    }

    /// <summary>Counts one job as run.</summary>
    public void Signal()
    {
        var remaining = Interlocked.Decrement(ref _remaining);
        if (remaining == 0)
        {
            _allRan.TrySetResult();
        }
        else if (remaining < 0)
        {
            // A job that ran twice (a retry, a duplicate delivery) would otherwise end a later operation early.
            _allRan.TrySetException(new InvalidOperationException($"{-remaining} more jobs ran than the {_expected} submitted."));
        }
    }

    /// <summary>Ends the operation with <paramref name="exception"/>: for systems that report a job's failure to a handler instead of rethrowing it.</summary>
    public void Fail(Exception exception) => _allRan.TrySetException(exception);

    /// <summary>Waits until every job has run; throws rather than hang when <paramref name="system"/> has not run them all within <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(string system, TimeSpan timeout)
    {
        try
        {
            await _allRan.Task.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException exception)
        {
            var ran = _expected - Volatile.Read(ref _remaining);
            throw new TimeoutException($"{system} ran {ran} of {_expected} jobs in {timeout.TotalSeconds:0} s.", exception);
        }
    }

    // Asynchronous continuations: the job that completes the signal runs on the system's worker, which must not go on
    // to run the benchmark's next operation inline.
    private static TaskCompletionSource NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
