/// The configuration file's schema, compiled into the program so that the daemon never depends on
/// finding it on disk. `config/peerwall.xsd` is the same text, shipped for editors and review;
/// `ConfigurationLoaderTests` fails when the two differ.
enum ConfigurationSchema {
    static let text = #"""
<?xml version="1.0" encoding="UTF-8"?>
<!--
  The peerwall configuration file, schema version 1 (XSD 1.0).

  Every setting is optional and may appear once, in any order; an absent setting keeps its
  default. config/peerwall.xml shows each one with its default. The loader checks what a schema
  cannot: address blocks, number ranges, duplicate queues, and the schema version.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:c="https://peerwall.dev/ns/config/1"
           targetNamespace="https://peerwall.dev/ns/config/1"
           elementFormDefault="qualified"
           attributeFormDefault="unqualified">

  <xs:element name="peerwall">
    <xs:complexType>
      <xs:all>
        <xs:element name="lan" type="c:RangeList" minOccurs="0"/>
        <xs:element name="neverBlock" type="c:OptionalRangeList" minOccurs="0"/>
        <xs:element name="monitorOnly" type="c:Boolean" minOccurs="0"/>
        <xs:element name="lockSeconds" type="c:Count" minOccurs="0"/>
        <xs:element name="refusal" type="c:Refusal" minOccurs="0"/>
        <xs:element name="signatureDirectory" type="c:Path" minOccurs="0"/>
        <xs:element name="flowCapacity" type="c:Count" minOccurs="0"/>
        <xs:element name="streamDepth" type="c:Count" minOccurs="0"/>
        <xs:element name="timeouts" type="c:Timeouts" minOccurs="0"/>
        <xs:element name="learnedCapacity" type="c:Count" minOccurs="0"/>
        <xs:element name="queues" type="c:QueueList" minOccurs="0"/>
        <xs:element name="failOpen" type="c:Boolean" minOccurs="0"/>
        <xs:element name="eventLog" type="c:Path" minOccurs="0"/>
        <xs:element name="stateDirectory" type="c:Path" minOccurs="0"/>
        <xs:element name="controlSocket" type="c:Path" minOccurs="0"/>
        <xs:element name="manageRules" type="c:Boolean" minOccurs="0"/>
        <xs:element name="gatewayAddresses" type="c:AddressList" minOccurs="0"/>
      </xs:all>
      <xs:attribute name="schema" type="xs:positiveInteger" use="required"/>
    </xs:complexType>
  </xs:element>

  <xs:complexType name="RangeList">
    <xs:sequence>
      <xs:element name="range" type="c:Token" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="OptionalRangeList">
    <xs:sequence>
      <xs:element name="range" type="c:Token" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="AddressList">
    <xs:sequence>
      <xs:element name="address" type="c:Token" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>

  <!-- Seconds; each attribute is optional and defaults as in config/peerwall.xml. -->
  <xs:complexType name="Timeouts">
    <xs:attribute name="tcpOpening" type="c:Count"/>
    <xs:attribute name="tcpEstablished" type="c:Count"/>
    <xs:attribute name="tcpClosing" type="c:Count"/>
    <xs:attribute name="udp" type="c:Count"/>
  </xs:complexType>

  <xs:simpleType name="Boolean">
    <xs:restriction base="xs:token">
      <xs:enumeration value="true"/>
      <xs:enumeration value="false"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Ranges are checked per setting by the loader. -->
  <xs:simpleType name="Count">
    <xs:restriction base="xs:token">
      <xs:pattern value="[0-9]+"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Refusal">
    <xs:restriction base="xs:token">
      <xs:enumeration value="drop"/>
      <xs:enumeration value="reset"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Queue numbers and ranges separated by commas or blanks: "0", "0 1", "0-3". -->
  <xs:simpleType name="QueueList">
    <xs:restriction base="xs:string">
      <xs:pattern value="[0-9,\-\s]*[0-9][0-9,\-\s]*"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Path">
    <xs:restriction base="xs:token">
      <xs:minLength value="1"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="Token">
    <xs:restriction base="xs:token">
      <xs:minLength value="1"/>
    </xs:restriction>
  </xs:simpleType>
</xs:schema>
"""#
}
