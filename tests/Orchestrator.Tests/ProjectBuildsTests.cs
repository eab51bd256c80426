namespace CyAgents.Orchestrator.Tests;

public class ProjectBuildsTests
{
    [Fact]
    public void Placeholder_is_replaced_by_real_tests() => typeof(ProjectBuildsTests).Assembly.GetName().Name.ShouldNotBeNull();
}
