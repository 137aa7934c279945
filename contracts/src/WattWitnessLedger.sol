// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IReceiver} from "./IReceiver.sol";
import {P256VerifierCall} from "./IP256Verifier.sol";

/// @title WattWitnessLedger
/// @notice Tokenised solar production that nobody but the meter's secure element can create.
///         Token id = installation id, 1 unit = 1 Wh. Each anchor carries the head of a batch of signed
///         WW2 readings (PROTOCOL.md); the contract checks the head's P-256 signature itself, credits the
///         growth of the meter's cumulative counter since the previous anchored head, and keeps the Merkle
///         root of the batch so anyone can prove a single reading was part of it.
/// @dev Immutable by design (docs/contracts.md): a successor ledger takes over an installation from the
///      last anchored head of a retired predecessor (`importInstallation`), so nothing is credited twice.
contract WattWitnessLedger is ERC1155, AccessControl, ReentrancyGuard, IReceiver {
    /// @notice May register and import installations.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice May call `anchor` directly (relayers). The CRE forwarder needs no role: it is configured.
    bytes32 public constant SUBMITTER_ROLE = keccak256("SUBMITTER_ROLE");

    /// @dev Order of the P-256 group; s above N/2 is replaced by N - s before calling the verifier.
    uint256 private constant _N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551;
    uint256 private constant _HALF_N = _N / 2;
    uint256 private constant _HEAD_LEN = 74;
    uint256 private constant _BPS = 10_000;

    // A known-valid P-256 signature (the shared test vector chain[0], a public test key). When the
    // verifier returns nothing for a real head we ask it this question: a verifier that also answers
    // nothing here does not exist on this chain, which deserves a different error than "invalid".
    bytes32 private constant _PROBE_DIGEST = 0x36099594dbed17d6c9a4dbb197d473552f80c92c608413a2ce8db993cd58e5fd;
    uint256 private constant _PROBE_R = 0xebd09f4ae546b86e0dddad5c554f90cb675097c77368fa9c994aae592a6005ac;
    uint256 private constant _PROBE_S = 0x5e45a78fe08f148388c498642a6b2d8759d3b8fa94232033039be40edf8d8053;
    bytes32 private constant _PROBE_X = 0x310d3a315fdae43a4b8dfaf9042ddfb48ebda5324bc44c26feffeab42e9182b2;
    bytes32 private constant _PROBE_Y = 0x3fb0e51e082dc6a2bff26851bf0cc18b983ef8ad1549a68d876acab6983f5916;

    /// @notice A registered installation and the state of its last anchored head.
    struct Installation {
        bytes32 keyX;
        bytes32 keyY;
        address beneficiary;
        bytes6 meter;
        bool registered;
        bool hasBaseline;
        uint64 capacityW;
        uint32 lastBoot;
        uint32 lastSeq;
        uint64 lastTs;
        uint64 lastEnergyMwh;
        uint64 carryMwh;
        bytes32 lastHeadHash;
    }

    /// @notice One anchored batch.
    struct Anchor {
        bytes32 headHash;
        bytes32 merkleRoot;
        uint32 count;
        uint32 boot;
        uint32 seq;
        uint64 ts;
        uint64 energyMwh;
        uint64 creditedMwh;
    }

    /// @dev The fields of a WW2 reading record that the ledger needs.
    struct Head {
        bytes6 meter;
        uint32 boot;
        uint32 seq;
        uint64 ts;
        uint64 energyMwh;
    }

    /// @notice The ledger this one took installations over from (zero for the first ledger).
    WattWitnessLedger public immutable predecessor;
    /// @notice Largest allowed `ts − block.timestamp` of a head, in seconds.
    uint64 public immutable maxFutureSkew;

    address private _verifier;
    address private _forwarder;
    address private _successor;
    uint32 private _capacityMarginBps;
    mapping(uint256 id => Installation) private _installations;
    mapping(uint256 id => Anchor[]) private _anchors;

    /// @notice An installation was registered (or imported from the predecessor).
    event InstallationRegistered(
        uint256 indexed installationId, bytes6 meter, bytes32 keyX, bytes32 keyY, uint64 capacityW, address beneficiary
    );
    /// @notice An installation was taken over from the predecessor ledger at its last anchored head.
    event InstallationImported(uint256 indexed installationId, address indexed fromLedger, bytes32 headHash);
    /// @notice An installation's device key (and meter) was replaced; the next anchor sets a new baseline.
    event KeyRotated(uint256 indexed installationId, bytes32 oldKeyX, bytes32 newKeyX, bytes32 newKeyY, bytes6 meter);
    /// @notice Where newly minted production goes changed.
    event BeneficiaryChanged(uint256 indexed installationId, address beneficiary);
    /// @notice An installation's registered peak capacity changed (the park was extended or re-rated).
    event CapacityChanged(uint256 indexed installationId, uint64 capacityW);
    /// @notice A batch was anchored; `mintedWh` whole Wh were minted to the beneficiary.
    event BatchAnchored(
        uint256 indexed installationId,
        uint256 indexed anchorIndex,
        bytes32 headHash,
        bytes32 merkleRoot,
        uint32 count,
        uint32 boot,
        uint32 seq,
        uint64 ts,
        uint64 energyMwh,
        uint256 mintedWh,
        bool counterReset
    );
    event VerifierChanged(address verifier);
    event ForwarderChanged(address forwarder);
    event CapacityMarginChanged(uint32 marginBps);
    /// @notice This ledger accepts no more anchors; `successor` continues from its last heads.
    event LedgerRetired(address successor);

    error WattWitnessLedgerUnknownInstallation(uint256 installationId);
    error WattWitnessLedgerInstallationExists(uint256 installationId);
    error WattWitnessLedgerInvalidPublicKey();
    error WattWitnessLedgerInvalidBeneficiary(address beneficiary);
    error WattWitnessLedgerMalformedHead(string reason);
    error WattWitnessLedgerWrongMeter(bytes6 expected, bytes6 actual);
    error WattWitnessLedgerStaleHead(uint32 lastBoot, uint32 lastSeq, uint32 boot, uint32 seq);
    error WattWitnessLedgerFutureHead(uint64 ts, uint256 blockTimestamp);
    error WattWitnessLedgerMalformedSignature();
    error WattWitnessLedgerInvalidSignature();
    error WattWitnessLedgerVerifierAbsent(address verifier);
    error WattWitnessLedgerCapacityExceeded(uint64 creditedMwh, uint256 maxMwh);
    error WattWitnessLedgerEmptyBatch();
    error WattWitnessLedgerNotForwarder(address caller);
    error WattWitnessLedgerRetired(address successor);
    error WattWitnessLedgerNoPredecessor();
    error WattWitnessLedgerNotSuccessor(address expected);
    error WattWitnessLedgerUnknownAnchor(uint256 installationId, uint256 anchorIndex);

    /// @param admin Holds DEFAULT_ADMIN_ROLE (configuration, key rotation, retirement).
    /// @param uri_ ERC-1155 metadata URI template.
    /// @param forwarder_ The CRE forwarder allowed to call `onReport` (zero: none).
    /// @param predecessor_ The retired ledger installations may be imported from (zero: none).
    /// @param maxFutureSkew_ Seconds a head's `ts` may be ahead of the block time.
    /// @param capacityMarginBps_ Capacity cap margin in basis points (12_000 = capacity × 1.2).
    constructor(
        address admin,
        string memory uri_,
        address forwarder_,
        WattWitnessLedger predecessor_,
        uint64 maxFutureSkew_,
        uint32 capacityMarginBps_
    ) ERC1155(uri_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _verifier = P256VerifierCall.PRECOMPILE;
        _forwarder = forwarder_;
        _capacityMarginBps = capacityMarginBps_;
        predecessor = predecessor_;
        maxFutureSkew = maxFutureSkew_;
    }

    // ---------------------------------------------------------------- installations

    /// @notice Registers an installation: its device key, its meter, its peak capacity and who gets tokens.
    /// @param installationId Token id of the installation's production.
    /// @param publicKey The device's P-256 public key, 64 bytes X ‖ Y.
    /// @param meterMac The meter's MAC as it appears in every record.
    /// @param capacityW Peak capacity in W; caps what one anchor may credit.
    /// @param beneficiary Receives the minted production.
    function registerInstallation(
        uint256 installationId,
        bytes calldata publicKey,
        bytes6 meterMac,
        uint64 capacityW,
        address beneficiary
    ) external onlyRole(REGISTRAR_ROLE) {
        if (_installations[installationId].registered) revert WattWitnessLedgerInstallationExists(installationId);
        if (publicKey.length != 64) revert WattWitnessLedgerInvalidPublicKey();
        if (beneficiary == address(0)) revert WattWitnessLedgerInvalidBeneficiary(beneficiary);
        Installation storage inst = _installations[installationId];
        inst.keyX = bytes32(publicKey[0:32]);
        inst.keyY = bytes32(publicKey[32:64]);
        inst.meter = meterMac;
        inst.capacityW = capacityW;
        inst.beneficiary = beneficiary;
        inst.registered = true;
        emit InstallationRegistered(installationId, meterMac, inst.keyX, inst.keyY, capacityW, beneficiary);
    }

    /// @notice Takes an installation over from the retired predecessor, starting at its last anchored head
    ///         (same key, meter, capacity, beneficiary, baseline and mWh carry), so nothing is credited twice.
    function importInstallation(uint256 installationId) external onlyRole(REGISTRAR_ROLE) {
        if (address(predecessor) == address(0)) revert WattWitnessLedgerNoPredecessor();
        if (predecessor.successor() != address(this)) revert WattWitnessLedgerNotSuccessor(predecessor.successor());
        if (_installations[installationId].registered) revert WattWitnessLedgerInstallationExists(installationId);
        Installation memory old = predecessor.installation(installationId);
        if (!old.registered) revert WattWitnessLedgerUnknownInstallation(installationId);
        _installations[installationId] = old;
        emit InstallationRegistered(installationId, old.meter, old.keyX, old.keyY, old.capacityW, old.beneficiary);
        emit InstallationImported(installationId, address(predecessor), old.lastHeadHash);
    }

    /// @notice Replaces an installation's device key and meter (a new secure element). The new device's
    ///         (boot, seq) and counter start afresh, so its first anchor sets a new baseline and credits nothing.
    function rotateKey(uint256 installationId, bytes calldata newPublicKey, bytes6 meterMac)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        Installation storage inst = _registered(installationId);
        if (newPublicKey.length != 64) revert WattWitnessLedgerInvalidPublicKey();
        bytes32 oldKeyX = inst.keyX;
        inst.keyX = bytes32(newPublicKey[0:32]);
        inst.keyY = bytes32(newPublicKey[32:64]);
        inst.meter = meterMac;
        inst.hasBaseline = false;
        inst.lastBoot = 0;
        inst.lastSeq = 0;
        emit KeyRotated(installationId, oldKeyX, inst.keyX, inst.keyY, meterMac);
    }

    /// @notice Changes who receives an installation's future production.
    function setBeneficiary(uint256 installationId, address beneficiary) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (beneficiary == address(0)) revert WattWitnessLedgerInvalidBeneficiary(beneficiary);
        _registered(installationId).beneficiary = beneficiary;
        emit BeneficiaryChanged(installationId, beneficiary);
    }

    /// @notice Changes an installation's peak capacity, which caps what one anchor may credit.
    function setCapacity(uint256 installationId, uint64 capacityW) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _registered(installationId).capacityW = capacityW;
        emit CapacityChanged(installationId, capacityW);
    }

    // ---------------------------------------------------------------- anchoring

    /// @notice Anchors a batch of signed readings by its head.
    /// @param installationId The installation whose device signed the head.
    /// @param headRecord The batch's last WW2 reading record, 74 bytes.
    /// @param signature The device's signature over SHA-256(headRecord), r ‖ s (64 bytes; high s accepted).
    /// @param merkleRoot RFC 6962 root over the batch's records in chain order.
    /// @param count Number of records in the batch.
    function anchor(
        uint256 installationId,
        bytes calldata headRecord,
        bytes calldata signature,
        bytes32 merkleRoot,
        uint32 count
    ) external onlyRole(SUBMITTER_ROLE) nonReentrant {
        _anchor(installationId, headRecord, signature, merkleRoot, count);
    }

    /// @notice CRE entry point: the report is `abi.encode(installationId, headRecord, signature, merkleRoot,
    ///         count)` and takes exactly the path of `anchor`. Only the configured forwarder may call.
    function onReport(bytes calldata, bytes calldata report) external nonReentrant {
        if (msg.sender != _forwarder || msg.sender == address(0)) revert WattWitnessLedgerNotForwarder(msg.sender);
        (uint256 installationId, bytes memory headRecord, bytes memory signature, bytes32 merkleRoot, uint32 count) =
            abi.decode(report, (uint256, bytes, bytes, bytes32, uint32));
        _anchor(installationId, headRecord, signature, merkleRoot, count);
    }

    function _anchor(
        uint256 installationId,
        bytes memory headRecord,
        bytes memory signature,
        bytes32 merkleRoot,
        uint32 count
    ) private {
        if (_successor != address(0)) revert WattWitnessLedgerRetired(_successor);
        Installation storage inst = _registered(installationId);
        if (count == 0) revert WattWitnessLedgerEmptyBatch();
        Head memory head = _parseHead(headRecord);
        if (head.meter != inst.meter) revert WattWitnessLedgerWrongMeter(inst.meter, head.meter);
        if (inst.hasBaseline && (head.boot < inst.lastBoot || (head.boot == inst.lastBoot && head.seq <= inst.lastSeq)))
        {
            revert WattWitnessLedgerStaleHead(inst.lastBoot, inst.lastSeq, head.boot, head.seq);
        }
        if (head.ts > block.timestamp + maxFutureSkew) revert WattWitnessLedgerFutureHead(head.ts, block.timestamp);
        bytes32 headHash = sha256(headRecord);
        _verifySignature(headHash, signature, inst.keyX, inst.keyY);

        (uint64 creditedMwh, bool counterReset) = _credit(inst, head);
        uint256 mintedWh = (uint256(inst.carryMwh) + creditedMwh) / 1000;

        // Effects, then the event, then the one interaction (the ERC-1155 receiver hook of the mint).
        inst.carryMwh = uint64((uint256(inst.carryMwh) + creditedMwh) % 1000);
        inst.hasBaseline = true;
        inst.lastBoot = head.boot;
        inst.lastSeq = head.seq;
        inst.lastTs = head.ts;
        inst.lastEnergyMwh = head.energyMwh;
        inst.lastHeadHash = headHash;
        uint256 anchorIndex = _anchors[installationId].length;
        _anchors[installationId].push(
            Anchor(headHash, merkleRoot, count, head.boot, head.seq, head.ts, head.energyMwh, creditedMwh)
        );
        emit BatchAnchored(
            installationId,
            anchorIndex,
            headHash,
            merkleRoot,
            count,
            head.boot,
            head.seq,
            head.ts,
            head.energyMwh,
            mintedWh,
            counterReset
        );
        if (mintedWh != 0) _mint(inst.beneficiary, installationId, mintedWh, "");
    }

    /// @dev What this head adds: the counter's growth since the last head, nothing for a first anchor or a
    ///      counter reset, and a revert when the growth exceeds capacity × elapsed time × margin.
    function _credit(Installation storage inst, Head memory head) private view returns (uint64, bool) {
        if (!inst.hasBaseline) return (0, false);
        if (head.energyMwh < inst.lastEnergyMwh) return (0, true);
        uint64 delta = head.energyMwh - inst.lastEnergyMwh;
        uint256 elapsed = head.ts > inst.lastTs ? head.ts - inst.lastTs : 0;
        // W × s × 1000 / 3600 = mWh, scaled by the margin in basis points.
        uint256 maxMwh = (uint256(inst.capacityW) * elapsed * 1000 * _capacityMarginBps) / (3600 * _BPS);
        if (delta > maxMwh) revert WattWitnessLedgerCapacityExceeded(delta, maxMwh);
        return (delta, false);
    }

    function _verifySignature(bytes32 digest, bytes memory signature, bytes32 x, bytes32 y) private view {
        if (signature.length != 64) revert WattWitnessLedgerMalformedSignature();
        uint256 r;
        uint256 s;
        assembly ("memory-safe") {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
        }
        if (r == 0 || r >= _N || s == 0 || s >= _N) revert WattWitnessLedgerInvalidSignature();
        // The ATECC608 does not normalise s; (r, n − s) is the same signature's low-s twin.
        if (s > _HALF_N) s = _N - s;
        (bool answered, bool valid) = P256VerifierCall.call(_verifier, digest, r, s, x, y);
        if (valid) return;
        if (!answered) {
            (, bool probeValid) = P256VerifierCall.call(_verifier, _PROBE_DIGEST, _PROBE_R, _PROBE_S, _PROBE_X, _PROBE_Y);
            if (!probeValid) revert WattWitnessLedgerVerifierAbsent(_verifier);
        }
        revert WattWitnessLedgerInvalidSignature();
    }

    function _parseHead(bytes memory record) private pure returns (Head memory head) {
        if (record.length != _HEAD_LEN) revert WattWitnessLedgerMalformedHead("length");
        if (_field(record, 0, 2) != 0x5757) revert WattWitnessLedgerMalformedHead("magic");
        if (_field(record, 2, 1) != 0x02) revert WattWitnessLedgerMalformedHead("version");
        if (_field(record, 3, 1) != 0x01) revert WattWitnessLedgerMalformedHead("type");
        head.meter = bytes6(uint48(_field(record, 4, 6)));
        head.boot = uint32(_field(record, 10, 4));
        head.seq = uint32(_field(record, 14, 4));
        head.ts = uint64(_field(record, 18, 8));
        head.energyMwh = uint64(_field(record, 34, 8));
    }

    /// @dev The big-endian unsigned integer of `size` bytes at `offset` (offset + 32 <= length + 32 here).
    function _field(bytes memory data, uint256 offset, uint256 size) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(mul(sub(32, size), 8), mload(add(add(data, 32), offset)))
        }
    }

    // ---------------------------------------------------------------- proofs

    /// @notice Whether `record` is leaf `leafIndex` of anchored batch `anchorIndex` (RFC 6962 / RFC 9162
    ///         §2.1.3.2 audit path with SHA-256, leaf = H(0x00 ‖ record), node = H(0x01 ‖ left ‖ right)).
    function verifyInclusion(
        uint256 installationId,
        uint256 anchorIndex,
        bytes calldata record,
        uint256 leafIndex,
        uint256 treeSize,
        bytes32[] calldata auditPath
    ) external view returns (bool) {
        if (anchorIndex >= _anchors[installationId].length) {
            revert WattWitnessLedgerUnknownAnchor(installationId, anchorIndex);
        }
        Anchor storage a = _anchors[installationId][anchorIndex];
        if (treeSize != a.count || leafIndex >= treeSize) return false;
        uint256 fn = leafIndex;
        uint256 sn = treeSize - 1;
        bytes32 node = sha256(abi.encodePacked(bytes1(0x00), record));
        for (uint256 i = 0; i < auditPath.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                node = sha256(abi.encodePacked(bytes1(0x01), auditPath[i], node));
                if (fn & 1 == 0) {
                    while (fn & 1 == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                node = sha256(abi.encodePacked(bytes1(0x01), node, auditPath[i]));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && node == a.merkleRoot;
    }

    // ---------------------------------------------------------------- administration

    /// @notice Sets the P-256 verifier (default the EIP-7951 precompile at 0x100).
    function setVerifier(address verifier_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _verifier = verifier_;
        emit VerifierChanged(verifier_);
    }

    /// @notice Sets the CRE forwarder allowed to call `onReport` (zero disables it).
    function setForwarder(address forwarder_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _forwarder = forwarder_;
        emit ForwarderChanged(forwarder_);
    }

    /// @notice Sets the capacity cap margin in basis points.
    function setCapacityMargin(uint32 marginBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _capacityMarginBps = marginBps;
        emit CapacityMarginChanged(marginBps);
    }

    /// @notice Stops this ledger for good; `successor_` may then import every installation's last head.
    function retire(address successor_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_successor != address(0)) revert WattWitnessLedgerRetired(_successor);
        _successor = successor_;
        emit LedgerRetired(successor_);
    }

    // ---------------------------------------------------------------- views

    /// @notice An installation's registration and last anchored head.
    function installation(uint256 installationId) external view returns (Installation memory) {
        return _installations[installationId];
    }

    /// @notice How many batches an installation has anchored.
    function anchorCount(uint256 installationId) external view returns (uint256) {
        return _anchors[installationId].length;
    }

    /// @notice One anchored batch.
    function anchorAt(uint256 installationId, uint256 anchorIndex) external view returns (Anchor memory) {
        if (anchorIndex >= _anchors[installationId].length) {
            revert WattWitnessLedgerUnknownAnchor(installationId, anchorIndex);
        }
        return _anchors[installationId][anchorIndex];
    }

    /// @notice The P-256 verifier address in use.
    function verifier() external view returns (address) {
        return _verifier;
    }

    /// @notice The CRE forwarder allowed to call `onReport`.
    function forwarder() external view returns (address) {
        return _forwarder;
    }

    /// @notice The ledger that took over after retirement (zero while active).
    function successor() external view returns (address) {
        return _successor;
    }

    /// @notice The capacity cap margin in basis points.
    function capacityMarginBps() external view returns (uint32) {
        return _capacityMarginBps;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return interfaceId == type(IReceiver).interfaceId || super.supportsInterface(interfaceId);
    }

    function _registered(uint256 installationId) private view returns (Installation storage inst) {
        inst = _installations[installationId];
        if (!inst.registered) revert WattWitnessLedgerUnknownInstallation(installationId);
    }
}
