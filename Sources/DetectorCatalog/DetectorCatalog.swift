import AudioGalaxyPlugin
import FastTrackPlugin
import NapsterPlugin
import PluginAPI
import PortBlockPlugin

/// Every protocol plugin, one line each, in the order they see a flow's packets.
/// Protocol plugins come first so that a flow names its protocol rather than its port.
public enum DetectorCatalog {
    public static let all: [any Detector.Type] = [
        FastTrackDetector.self,
        NapsterDetector.self,
        AudioGalaxyDetector.self,
        PortBlockDetector.self,
    ]
}
