using System.Net;
using System.Net.Sockets;

namespace TaskDispatch.PostgreSql.Tests;

/// <summary>A TCP relay in front of the server that a test can cut: every relayed connection is dropped and new ones
/// are refused, as a network partition between one member and the database would.</summary>
internal sealed class CutOffProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly List<TcpClient> _open = [];
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _cut;

    internal CutOffProxy(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        _targetHost = builder.Host!;
        _targetPort = builder.Port;
        _listener.Start();
        _ = AcceptAsync();
    }

    /// <summary>The connection string that goes through the relay.</summary>
    internal string ConnectionString(string original) =>
        new Npgsql.NpgsqlConnectionStringBuilder(original) { Host = "127.0.0.1", Port = ((IPEndPoint)_listener.LocalEndpoint).Port, Pooling = true }.ConnectionString;

    /// <summary>Drops every relayed connection and refuses new ones.</summary>
    internal void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                client.Dispose();
            }

            _open.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            if (_cut)
            {
                client.Dispose();
                continue;
            }

            var server = new TcpClient();
            await server.ConnectAsync(_targetHost, _targetPort);
            lock (_open)
            {
                _open.Add(client);
                _open.Add(server);
            }

            _ = PumpAsync(client.GetStream(), server.GetStream());
            _ = PumpAsync(server.GetStream(), client.GetStream());
        }
    }

    private static async Task PumpAsync(Stream from, Stream to)
    {
        try
        {
            await from.CopyToAsync(to);
        }
        catch (Exception)
        {
            // The relay was cut.
        }
    }
}
