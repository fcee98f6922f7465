namespace TaskDispatch;

/// <summary>A progress report from a running task: how far it is and, optionally, what it is doing.</summary>
public sealed class TaskProgress
{
    /// <summary>Creates a progress report.</summary>
    /// <param name="fraction">How much is done, from 0 to 1.</param>
    /// <param name="message">An optional description of the current step.</param>
    /// <param name="attempt">The attempt that reported it, from 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">Thrown when <paramref name="fraction"/> is not a number in [0, 1].</exception>
    public TaskProgress(double fraction, string? message, int attempt)
    {
        if (!(fraction >= 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "Progress must be a number from 0 to 1.");
        }

        Fraction = fraction;
        Message = message;
        Attempt = attempt;
    }

    /// <summary>Gets how much is done, from 0 to 1.</summary>
    public double Fraction { get; }

    /// <summary>Gets the description of the current step, if the task gave one.</summary>
    public string? Message { get; }

    /// <summary>Gets the attempt that reported this progress, from 1.</summary>
    public int Attempt { get; }
}
