namespace TaskDispatch.Simulation;

/// <summary>Why a simulated attempt failed when its node's <see cref="SimulatedNode.FailureRate"/> drew a failure: what
/// the recovery policy sees, as it would see a handler's exception in the live dispatcher.</summary>
public sealed class SimulatedTaskFailureException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="SimulatedTaskFailureException"/> class.</summary>
    public SimulatedTaskFailureException()
        : base("The simulated attempt failed.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SimulatedTaskFailureException"/> class.</summary>
    /// <param name="message">Why.</param>
    public SimulatedTaskFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SimulatedTaskFailureException"/> class.</summary>
    /// <param name="message">Why.</param>
    /// <param name="innerException">The cause.</param>
    public SimulatedTaskFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
