namespace TaskDispatch.Simulation.Tests;

/// <summary>Textbook results the simulator is checked against.</summary>
internal static class QueueingTheory
{
    /// <summary>Mean wait in queue of M/M/c under FCFS (Erlang C): C(c, a) / (cμ − λ), with a = λ/μ.</summary>
    internal static double ErlangCMeanWait(int servers, double arrivalRate, double serviceRate)
    {
        var offered = arrivalRate / serviceRate;
        double sum = 0, term = 1;
        for (var k = 0; k < servers; k++)
        {
            sum += term;
            term *= offered / (k + 1);
        }

        // term is now a^c / c!.
        var waiting = term * servers / (servers - offered);
        var probabilityOfWaiting = waiting / (sum + waiting);
        return probabilityOfWaiting / ((servers * serviceRate) - arrivalRate);
    }

    /// <summary>Mean wait of each class in M/G/1 with non-preemptive priorities (Cobham):
    /// W_k = W0 / ((1 − σ_{k−1})(1 − σ_k)), W0 = Σ λ_i E[S_i²] / 2, σ_k the load of classes 1..k (highest first).</summary>
    internal static double[] PriorityMeanWaits(double[] arrivalRates, double serviceRate)
    {
        // Exponential service: E[S²] = 2 / μ².
        var residual = arrivalRates.Sum() * (2 / (serviceRate * serviceRate)) / 2;
        var waits = new double[arrivalRates.Length];
        var above = 0.0;
        for (var k = 0; k < arrivalRates.Length; k++)
        {
            var through = above + (arrivalRates[k] / serviceRate);
            waits[k] = residual / ((1 - above) * (1 - through));
            above = through;
        }

        return waits;
    }

    /// <summary>Mean wait of non-preemptive shortest-job-first in M/M/1 with exact sizes (Phipps): the mean over x of
    /// W0 / (1 − ρ(x))², ρ(x) = λ ∫₀ˣ t dF(t) = ρ(1 − e^(−μx)(1 + μx)), integrated numerically.</summary>
    internal static double ShortestJobFirstMeanWait(double arrivalRate, double serviceRate)
    {
        var load = arrivalRate / serviceRate;
        var residual = arrivalRate / (serviceRate * serviceRate);
        const int Steps = 200_000;
        var upper = 40 / serviceRate;
        var step = upper / Steps;
        var total = 0.0;
        for (var i = 0; i <= Steps; i++)
        {
            var x = i * step;
            var loadBelow = load * (1 - (Math.Exp(-serviceRate * x) * (1 + (serviceRate * x))));
            var value = residual / ((1 - loadBelow) * (1 - loadBelow)) * serviceRate * Math.Exp(-serviceRate * x);
            total += (i == 0 || i == Steps ? 1 : i % 2 == 1 ? 4 : 2) * value;
        }

        return total * step / 3;
    }
}
