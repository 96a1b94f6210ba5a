// An on-screen keyboard for card numbers: digits and capital letters, keys one touch target wide.
import QtQuick

Grid {
    id: keys
    signal key(string k)
    property int columns_: width > theme.values.touch * 10 ? 10 : 7
    columns: columns_
    spacing: theme.values.spacing / 2
    Repeater {
        model: "1234567890QWERTYUIOPASDFGHJKLZXCVBNM⌫".split("")
        BigButton {
            objectName: "key-" + modelData
            width: Math.max(theme.values.touch, (keys.width - keys.spacing * (keys.columns - 1)) / keys.columns)
            implicitWidth: width
            text: modelData
            onClicked: keys.key(modelData)
        }
    }
}
