/// Every scenario: one list per simulator.
public enum ScenarioCatalog {
    public static var all: [Scenario] {
        CoreScenarios.all
            + FastTrackScenarios.all
            + NapsterScenarios.all
            + AudioGalaxyScenarios.all
            + FTPScenarios.all
    }

    public static func named(_ name: String) -> Scenario? { all.first { $0.name == name } }
}
