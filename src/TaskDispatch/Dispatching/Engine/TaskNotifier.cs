using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace TaskDispatch;

/// <summary>Tells watchers and observers about task transitions, and completes a finished task's awaitable once they
/// have heard. Owns the observers, the dispatcher-wide watchers and the observer queue.</summary>
/// <remarks>
/// Watchers are channels: writing to them never blocks, so they are written on the thread that made the transition.
/// Observers are user code that may be slow or block, so they are never called on the thread that made the transition
/// (a submitter, or a scheduler step running on one): their calls go through one queue, drained in order by one
/// consumer. A finished task's awaitable completes after the observers have heard of its end, so an awaiting caller
/// always sees them consistent; a blocked observer therefore delays awaiters, never submissions or scheduling.
/// </remarks>
internal sealed class TaskNotifier
{
    private readonly ITaskObserver[] _observers;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>The observer calls still to be made, in transition order; <see langword="null"/> without observers.</summary>
    private readonly Channel<Notification>? _queue;

    /// <summary>The dispatcher-wide watchers, copy-on-write.</summary>
    private Channel<TaskStateChange>[]? _watchers;

    /// <summary>Tasks that have ended and whose awaitables wait for the observers to hear of it.</summary>
    private long _unannouncedEnds;

    internal TaskNotifier(ITaskObserver[] observers, TimeProvider timeProvider, ILogger logger)
    {
        _observers = observers;
        _timeProvider = timeProvider;
        _logger = logger;
        if (observers.Length > 0)
        {
            _queue = Channel.CreateUnbounded<Notification>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
            using (ExecutionContext.SuppressFlow())
            {
                _ = Task.Run(DeliverAsync);
            }
        }
    }

    /// <summary>Gets how many ended tasks wait for the observers to hear of their end before their awaitables complete.</summary>
    internal long UnannouncedEnds => Interlocked.Read(ref _unannouncedEnds);

    /// <summary>Streams every state change of every task of the dispatcher until <see cref="Complete"/>.</summary>
    internal async IAsyncEnumerable<TaskStateChange> WatchAsync(bool stopped, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TaskStateChange>(new UnboundedChannelOptions { SingleReader = true });
        Watchers.Add(ref _watchers, channel);
        try
        {
            if (stopped)
            {
                channel.Writer.TryComplete();
            }

            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var change))
                {
                    yield return change;
                }
            }
        }
        finally
        {
            Watchers.Remove(ref _watchers, channel);
        }
    }

    /// <summary>Publishes a non-terminal transition to whoever listens.</summary>
    internal void OnTransition(TaskHandle task, TaskState previous, TaskState state, long version)
    {
        var watchers = Volatile.Read(ref _watchers);
        if (_queue is null && watchers is null && !task.HasWatchers)
        {
            return;
        }

        var change = new TaskStateChange(task, previous, state, _timeProvider.GetUtcNow(), version);
        Publish(watchers, change);
        _queue?.Writer.TryWrite(new Notification(change, IsEnd: false));
    }

    /// <summary>Publishes a task's terminal transition and completes its awaitable: at once without observers, else
    /// once the observers have heard.</summary>
    internal void OnFinished(TaskHandle task, TaskState previous, TaskState terminal, long version)
    {
        var watchers = Volatile.Read(ref _watchers);
        if (_queue is null && watchers is null && !task.HasWatchers)
        {
            task.CompleteAwaitable();
            return;
        }

        var change = new TaskStateChange(task, previous, terminal, _timeProvider.GetUtcNow(), version);
        Publish(watchers, change);
        if (_queue is null)
        {
            task.CompleteAwaitable();
            return;
        }

        Interlocked.Increment(ref _unannouncedEnds);
        if (!_queue.Writer.TryWrite(new Notification(change, IsEnd: true)))
        {
            // Only after Complete, which runs once no task is live: never strand an awaitable.
            Interlocked.Decrement(ref _unannouncedEnds);
            task.CompleteAwaitable();
        }
    }

    /// <summary>Ends the watchers' streams and, once the queue is empty, the observer consumer.</summary>
    internal void Complete()
    {
        Watchers.CompleteAll(Interlocked.Exchange(ref _watchers, null));
        _queue?.Writer.TryComplete();
    }

    private static void Publish(Channel<TaskStateChange>[]? watchers, in TaskStateChange change)
    {
        change.Task.PublishToWatchers(change);
        if (watchers is not null)
        {
            foreach (var watcher in watchers)
            {
                watcher.Writer.TryWrite(change);
            }
        }
    }

    private async Task DeliverAsync()
    {
        var reader = _queue!.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var notification))
            {
                Deliver(notification);
            }
        }
    }

    private void Deliver(in Notification notification)
    {
        var change = notification.Change;
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnStateChanged(change);
            }
            catch (Exception exception)
            {
                Log.ObserverFailed(_logger, change.Task.Id, exception);
            }
        }

        if (!notification.IsEnd)
        {
            return;
        }

        foreach (var observer in _observers)
        {
            try
            {
                observer.OnCompleted(change.Task);
            }
            catch (Exception exception)
            {
                Log.ObserverFailed(_logger, change.Task.Id, exception);
            }
        }

        // Counted down before the awaitable completes and the task stops counting as live, so that a forced stop never
        // mistakes a live task for one only waiting on the observers.
        Interlocked.Decrement(ref _unannouncedEnds);
        change.Task.CompleteAwaitable();
    }

    /// <summary>One observer call to make: a transition, and whether it is the task's end.</summary>
    private readonly record struct Notification(TaskStateChange Change, bool IsEnd);
}
