namespace TaskDispatch.PostgreSql.Tests;

/// <summary>Gives each test of a fixture a schema of its own on the test server, dropped after the test, so that no two
/// tests see each other's tables.</summary>
public abstract class SchemaPerTest
{
    /// <summary>Gets the current test's schema.</summary>
    protected string Schema { get; private set; } = null!;

    [SetUp]
    public void NewSchema() => Schema = PostgresServer.NewSchema();

    [TearDown]
    public async Task DropSchema() => await ClusterTestKit.DropAsync(Schema);
}
