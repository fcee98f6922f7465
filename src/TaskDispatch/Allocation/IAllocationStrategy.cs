namespace TaskDispatch;

/// <summary>Picks the node that runs a task, among the nodes that can take it now.</summary>
/// <remarks>
/// Only the dispatcher's scheduler calls a strategy, one call at a time and never concurrently, so an implementation needs no locks.
/// The dispatcher filters the candidates first: every candidate has a free slot, carries the task's required tags
/// and has the free resources its demand asks for. A strategy is a pure decision: no I/O, no threads. Use one
/// instance per dispatcher.
/// <para>What a throw costs: an exception from <see cref="SelectNode"/>, or an index out of range, fails only the task
/// being placed, with that exception; the dispatcher keeps placing other tasks.</para>
/// </remarks>
public interface IAllocationStrategy
{
    /// <summary>Chooses a node for <paramref name="task"/>.</summary>
    /// <param name="task">The task to place.</param>
    /// <param name="candidates">The eligible nodes, never empty, in the dispatcher's node order.</param>
    /// <returns>The index into <paramref name="candidates"/> of the chosen node, or -1 to leave the task waiting until capacity changes.</returns>
    int SelectNode(TaskHandle task, ReadOnlySpan<NodeSnapshot> candidates);
}
