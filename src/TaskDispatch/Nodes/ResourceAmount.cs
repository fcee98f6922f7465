using System.Collections.Concurrent;

namespace TaskDispatch;

/// <summary>An amount of a named resource, with the resource's process-wide id so that nodes can look capacities up
/// in arrays rather than by hashing names on every placement decision.</summary>
/// <param name="Id">The resource's process-wide id: dense, from 0, never reused.</param>
/// <param name="Name">The resource's name.</param>
/// <param name="Amount">The amount.</param>
/// <remarks>A task's demand comes as these (<see cref="TaskOptions.DemandedResources"/>); an allocation strategy compares
/// them with <see cref="NodeSnapshot.CapacityOf(in ResourceAmount)"/> and <see cref="NodeSnapshot.InUseOf(in ResourceAmount)"/>,
/// as the built-in resource fit does.</remarks>
public readonly record struct ResourceAmount(int Id, string Name, double Amount)
{
    private static readonly ConcurrentDictionary<string, int> s_ids = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<int, string> s_names = new();
    private static int s_lastId = -1;

    /// <summary>Gets the id of a resource name; ids are dense, start at 0 and are never reused (names are few).</summary>
    internal static int IdOf(string name) => s_ids.GetOrAdd(name, static name =>
    {
        var id = Interlocked.Increment(ref s_lastId);
        s_names[id] = name;
        return id;
    });

    /// <summary>Gets the name of a resource id handed out by <see cref="IdOf"/>.</summary>
    internal static string NameOf(int id) => s_names.TryGetValue(id, out var name) ? name : $"#{id}";

    /// <summary>The positive entries of a demand or capacity, with their ids.</summary>
    /// <summary>Lays amounts out by resource id, for lookups without hashing names; ids without an amount hold 0.</summary>
    internal static double[] ById(IEnumerable<KeyValuePair<string, double>>? amounts)
    {
        var positive = FromPositive(amounts);
        var byId = new double[positive.Length == 0 ? 0 : positive.Max(static amount => amount.Id) + 1];
        foreach (var amount in positive)
        {
            byId[amount.Id] = amount.Amount;
        }

        return byId;
    }

    internal static ResourceAmount[] FromPositive(IEnumerable<KeyValuePair<string, double>>? amounts) =>
        amounts is null
            ? []
            : amounts.Where(static entry => entry.Value > 0).Select(static entry => new ResourceAmount(IdOf(entry.Key), entry.Key, entry.Value)).ToArray();
}
